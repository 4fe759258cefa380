"""What start-up refuses: weak secret keys outside development and KEFU_ENV values it does not know."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError, load_config

STRONG_KEY = "k" * 32
SITE = "https://kefu.example"


def test_a_secret_key_shorter_than_32_bytes_is_refused_in_production():
    with pytest.raises(ConfigError, match="shorter than 32 bytes"):
        load_config({"KEFU_ENV": "production", "SECRET_KEY": "k" * 31})


def test_a_32_byte_key_starts_production_with_secure_cookies():
    config = load_config({"KEFU_ENV": "production", "SECRET_KEY": STRONG_KEY})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True


def test_a_missing_secret_key_is_refused_in_production():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config({"KEFU_ENV": "production", "SECRET_KEY": None})


def test_development_starts_without_a_key():
    assert load_config({"KEFU_ENV": "development", "SECRET_KEY": None})["SECRET_KEY"]


@pytest.mark.parametrize("typo", ["prod", "Production", "staging", ""])
def test_an_unknown_environment_is_refused_at_start_up(typo):
    with pytest.raises(ConfigError, match="is not known"):
        create_app({"KEFU_ENV": typo, "SECRET_KEY": STRONG_KEY, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_serves_pages_with_a_secure_session_cookie_and_hsts(database_url):
    app = create_app({"KEFU_ENV": "production", "SECRET_KEY": STRONG_KEY, "SQLALCHEMY_DATABASE_URI": database_url,
                      "RATELIMIT_STORAGE_URI": "memory://"})
    response = app.test_client().get("/login", base_url=SITE)
    assert response.status_code == 200
    assert "Secure" in response.headers["Set-Cookie"]  # the session holds the login form's CSRF token
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    with app.app_context():
        from app.extensions import db
        db.engine.dispose()


def test_production_starts_and_logs_in_while_the_rate_limit_store_is_down(database_url, clock):
    """Redis unreachable: start-up does not connect; a login still answers (the per-name cool-down in the
    database still applies) instead of a 500."""
    from app.extensions import db
    from app.services.people.users import create_user
    from tests.console_client import PASSWORD, Browser

    app = create_app({"KEFU_ENV": "production", "SECRET_KEY": STRONG_KEY, "SQLALCHEMY_DATABASE_URI": database_url,
                      "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1"}, clock=clock)
    with app.app_context():
        create_user("wang", password=PASSWORD, roles=["cs_agent"], clock=clock)
        browser, https = Browser(app.test_client()), {"base_url": SITE, "headers": {"Referer": f"{SITE}/login"}}
        browser.get("/login", base_url=SITE)
        assert browser.post("/login", {"username": "wang", "password": "guess"}, **https).status_code == 401
        assert browser.post("/login", {"username": "wang", "password": PASSWORD}, **https).status_code == 302
        db.engine.dispose()
