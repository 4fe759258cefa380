"""What a user or a script sends is checked against where it goes: redirects, column sizes, file names,
JSON depth, spreadsheet cells (issue 13)."""

from __future__ import annotations

import pytest

from app.services.people.users import create_user
from tests.console_client import PASSWORD, Browser


@pytest.fixture
def browser(app, clock):
    create_user("wang", password=PASSWORD, roles=["cs_agent"], clock=clock)
    browser = Browser(app.test_client())
    browser.get("/login")
    return browser


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0a/evil.example", "/%5Cevil.example",
                                    "%20//evil.example", "//evil.example", "https://evil.example/",
                                    "/\\/evil.example", "javascript:alert(1)"])
def test_login_never_sends_the_browser_to_another_site(browser, target):
    response = browser.post(f"/login?next={target}", {"username": "wang", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_still_returns_to_the_page_asked_for(browser):
    response = browser.post("/login?next=/tasks%3Fscope%3Dgroup", {"username": "wang", "password": PASSWORD})
    assert response.headers["Location"] == "/tasks?scope=group"


def test_the_language_switch_stays_on_the_site(browser):
    response = browser.post("/language", {"lang": "en", "next": "/\t/evil.example"})
    assert response.headers["Location"] == "/"
