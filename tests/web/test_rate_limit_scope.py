"""Flask-Limiter works on the sign-in views only: every other request passes without consulting it.

The limits are the sign-in views' decorators (tests/web/test_sessions.py and test_owner_sign_in.py prove they
still refuse); the app-wide check Flask-Limiter adds by default would look for limits on every request.
"""

from __future__ import annotations

import pytest
from flask_limiter._manager import LimitManager

from app.extensions import limiter
from tests.console_client import Browser


@pytest.fixture
def consulted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The endpoints for which the limiter resolved the limits that apply (each check does, limits or none)."""
    seen: list[str] = []
    resolve = LimitManager.resolve_limits

    def counting(self, app, endpoint, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(endpoint)
        return resolve(self, app, endpoint, *args, **kwargs)

    monkeypatch.setattr(LimitManager, "resolve_limits", counting)
    limiter.reset()
    yield seen
    limiter.reset()


def test_api_calls_and_pages_pass_without_the_limiter(client, make_user, consulted):
    agent = make_user("wang", "cs_agent")
    assert client.get("/api/v1/projects", headers=agent.headers).status_code == 200
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/").status_code == 302  # a console page: to the sign-in page
    assert consulted == []


def test_a_sign_in_still_consults_the_limiter(client, make_user, consulted):
    make_user("wang", "cs_agent")
    browser = Browser(client)
    browser.get("/login")
    assert browser.post("/login", {"username": "wang", "password": "wrong-password-1"}).status_code == 401
    assert "console.login" in consulted  # the view's own check: the sign-in limits apply
