"""Every setting declared once: its environment name, its default, and what it is for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_ENVS = ("development", "testing")


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read the settings from the environment, apply ``overrides``, and check them."""
    env = _env("KEFU_ENV", "production")
    config: dict[str, Any] = {
        # development | testing | production; development and testing allow the demo secret key.
        "KEFU_ENV": env,
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'instance' / 'kefu.db'}"),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "BPMN_DIR": Path(_env("BPMN_DIR", str(PROJECT_ROOT / "bpmn"))),
        "FORMS_DIR": Path(_env("FORMS_DIR", str(PROJECT_ROOT / "forms"))),
        # The business time zone: what staff see and what working hours mean. Storage is always UTC.
        "TIMEZONE": _env("KEFU_TIMEZONE", "Asia/Shanghai"),
        # Office hours for limits in working time (工作日/工作小时), local time "HH:MM-HH:MM"; an optional
        # lunch break inside them does not count. Holidays and make-up days: chinese-calendar + /admin/calendar.
        "OFFICE_HOURS": _env("KEFU_OFFICE_HOURS", "09:00-18:00"),
        "OFFICE_LUNCH_BREAK": _env("KEFU_OFFICE_LUNCH_BREAK", ""),
        # SQLite only: how long a writer waits for the lock before giving up with a 409.
        "SQLITE_BUSY_TIMEOUT_MS": int(_env("SQLITE_BUSY_TIMEOUT_MS", "5000")),
        "MAX_CONTENT_LENGTH": int(_env("MAX_UPLOAD_BYTES", str(8 * 1024 * 1024))),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "JSON_AS_ASCII": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "BABEL_DEFAULT_LOCALE": "zh",
        # Where photos and signatures are stored (outside the engine state; task data holds a reference).
        "UPLOAD_DIR": Path(_env("UPLOAD_DIR", str(PROJECT_ROOT / "instance" / "uploads"))),
        # The worker (flask worker): a taken job is locked this long; a crashed worker's jobs are
        # taken again after it. Failed jobs are tried this many times before they become incidents.
        "WORKER_LOCK_SECONDS": int(_env("WORKER_LOCK_SECONDS", "60")),
        "WORKER_RETRIES": int(_env("WORKER_RETRIES", "3")),
        "WORKER_BATCH": int(_env("WORKER_BATCH", "20")),
        # Outgoing e-mail (notifications); without SMTP_HOST, SMS and e-mail are written to the log.
        "SMTP_HOST": os.environ.get("SMTP_HOST"),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_FROM": _env("SMTP_FROM", "kefu@localhost"),
    }
    config.update(overrides or {})
    _check(config)
    return config


def _check(config: dict[str, Any]) -> None:
    if not config.get("SECRET_KEY"):
        if config["KEFU_ENV"] not in DEVELOPMENT_ENVS:
            raise ConfigError("SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
                              "string (python -c 'import secrets; print(secrets.token_hex(32))'), or set "
                              "KEFU_ENV=development for a local demo.")
        config["SECRET_KEY"] = "development-only-not-secret"  # noqa: S105 - refused outside development
