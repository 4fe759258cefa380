"""Every setting declared once: its environment name, its default, and what it is for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_ENVS = ("development", "testing")
KNOWN_ENVS = (*DEVELOPMENT_ENVS, "production")
MIN_SECRET_KEY_BYTES = 32
SMS_PROVIDERS = ("log", "tencent", "aliyun")
SMS_TEMPLATE_ENV_PREFIX = "KEFU_SMS_TEMPLATE_"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def sms_signature() -> str:
    """The SMS signature (签名) registered with the carrier; texts show it as 【…】 (services render with it)."""
    return _env("KEFU_SMS_SIGNATURE", "客服中心")


def public_base_url() -> str:
    """The address owners reach the product at (``KEFU_PUBLIC_BASE_URL``, no trailing slash; empty: a path only),
    for links in texts sent outside a request."""
    return _env("KEFU_PUBLIC_BASE_URL", "").rstrip("/")


def _sms_template_ids() -> dict[str, str]:
    """The provider's id of each SMS template: KEFU_SMS_TEMPLATE_OWNER_LOGIN_CODE=1234567 → owner_login_code."""
    return {name[len(SMS_TEMPLATE_ENV_PREFIX):].lower(): value for name, value in os.environ.items()
            if name.startswith(SMS_TEMPLATE_ENV_PREFIX) and value}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read the settings from the environment, apply ``overrides``, and check them."""
    overrides = overrides or {}
    # The environment decides defaults below (secure cookies, the rate-limit store), so an override counts.
    env = str(overrides["KEFU_ENV"]) if "KEFU_ENV" in overrides else _env("KEFU_ENV", "production")
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
        # How many reverse proxies (TLS terminators) stand in front of the app: their X-Forwarded-For and
        # X-Forwarded-Proto are believed, so login throttling sees the client's address and HSTS the TLS. 0 (the
        # default) believes none, so a client cannot name itself another address.
        "TRUSTED_PROXIES": int(_env("KEFU_TRUSTED_PROXIES", "0")),
        # Login throttling (Flask-Limiter): where the counters live (shared by every web process in
        # production), and how many wrong passwords one client address may send across all names.
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI",
                                      "memory://" if env in DEVELOPMENT_ENVS else "redis://127.0.0.1:6379"),
        "RATELIMIT_HEADERS_ENABLED": False,
        # Redis down: log it and let the request through rather than answer 500 to every login; the
        # cool-down per (name, address) lives in the database and still applies.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_FAILURES_PER_ADDRESS": _env("KEFU_LOGIN_FAILURES_PER_ADDRESS", "20 per 10 minutes"),
        # The owners' pages (/owner): sign-in codes asked per number and per address, code checks per address,
        # how long an owner stays signed in, and the service desk's number owners may call.
        "OWNER_CODES_PER_PHONE": _env("KEFU_OWNER_CODES_PER_PHONE", "5 per hour"),
        "OWNER_CODES_PER_ADDRESS": _env("KEFU_OWNER_CODES_PER_ADDRESS", "20 per hour"),
        "OWNER_CODE_CHECKS_PER_ADDRESS": _env("KEFU_OWNER_CODE_CHECKS_PER_ADDRESS", "30 per 10 minutes"),
        "OWNER_SESSION_DAYS": int(_env("KEFU_OWNER_SESSION_DAYS", "30")),
        "SERVICE_DESK_PHONE": _env("KEFU_SERVICE_DESK_PHONE", "400-800-0000"),
        # The address owners' texts link to (a personal link, the QR sheets); the request's own host when empty.
        "PUBLIC_BASE_URL": _env("KEFU_PUBLIC_BASE_URL", ""),
        # Outgoing e-mail (notifications); without SMTP_HOST, SMS and e-mail are written to the log.
        "SMTP_HOST": os.environ.get("SMTP_HOST"),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_FROM": _env("SMTP_FROM", "kefu@localhost"),
        # Texts (services/jobs/sms_senders.py): log (default, the rendered text goes to the log), tencent or
        # aliyun. The provider's keys are read from the environment by the worker only, never stored here.
        "SMS_PROVIDER": _env("KEFU_SMS_PROVIDER", "log"),
        "SMS_SIGNATURE": sms_signature(),
        "SMS_APP_ID": _env("KEFU_SMS_APP_ID", ""),  # Tencent's SmsSdkAppId
        "SMS_REGION": _env("KEFU_SMS_REGION", ""),  # empty: ap-guangzhou (Tencent), cn-hangzhou (Aliyun)
        "SMS_TEMPLATE_IDS": _sms_template_ids(),
    }
    config.update(overrides)
    _check(config)
    return config


def _check(config: dict[str, Any]) -> None:
    if config["KEFU_ENV"] not in KNOWN_ENVS:
        raise ConfigError(f"KEFU_ENV={config['KEFU_ENV']!r} is not known: set it to one of "
                          f"{', '.join(KNOWN_ENVS)} (production turns on secure cookies and refuses weak keys).")
    if config["SMS_PROVIDER"] not in SMS_PROVIDERS:
        raise ConfigError(f"KEFU_SMS_PROVIDER={config['SMS_PROVIDER']!r} is not known: set it to one of "
                          f"{', '.join(SMS_PROVIDERS)}.")
    if config["KEFU_ENV"] in DEVELOPMENT_ENVS:
        config["SECRET_KEY"] = config.get("SECRET_KEY") or "development-only-not-secret"
        return
    if not config.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
                          "string (python -c 'import secrets; print(secrets.token_hex(32))'), or set "
                          "KEFU_ENV=development for a local demo.")
    if len(str(config["SECRET_KEY"]).encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes, which is too easy to guess; "
                          "set a long random one (python -c 'import secrets; print(secrets.token_hex(32))').")
