"""The security headers every response carries, set in one place (app/web/security_headers.py), and the
templates' side of the bargain: no inline script or event handler the Content-Security-Policy would block."""

from __future__ import annotations

import re

import pytest

from app.services.people.users import create_user
from tests.console_client import PASSWORD, Browser
from tests.support.paths import ROOT

TEMPLATES = ROOT / "app" / "templates"


@pytest.fixture
def admin(app, clock):
    create_user("root", password=PASSWORD, roles=["admin"], clock=clock)
    browser = Browser(app.test_client())
    assert browser.log_in("root").status_code == 302
    return browser


def get_pages(app) -> list[str]:
    """Every GET route that needs no argument (what a signed-in admin can open straight away)."""
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static")


def assert_protected(response, path: str) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], path
    assert "frame-ancestors 'none'" in policy or "sandbox" in policy, path
    assert headers.get("X-Frame-Options") == "DENY", path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "same-origin", path


def test_every_page_an_admin_opens_carries_the_security_headers(app, admin):
    pages = get_pages(app)
    assert "/" in pages and "/admin/people" in pages and "/api/v1/openapi.json" in pages
    for path in pages:
        response = admin.get(path)
        assert response.status_code < 500, path
        assert_protected(response, path)


@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/api/v1/tasks", "/static/kefu.css"])
def test_pages_for_visitors_errors_and_static_files_carry_them_too(client, path):
    with client.get(path) as response:  # a static file streams: close it
        assert_protected(response, path)


def test_hsts_is_sent_over_https_only(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://kefu.example").headers
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name)
def test_no_template_has_inline_script_or_event_handlers(template):
    text = template.read_text(encoding="utf-8")
    inline_scripts = [tag for tag in re.findall(r"<script\b[^>]*>", text)
                      if "src=" not in tag and 'type="application/json"' not in tag]
    assert inline_scripts == []
    assert re.findall(r"\son[a-z]+\s*=", text) == []
    assert "javascript:" not in text
