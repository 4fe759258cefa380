"""The strict Content-Security-Policy in a real browser: the console, the admin's instance page with its
diagram, the dashboard and the designer's editors load and draw with no violation in the console log."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Ticket
from app.services.people.users import create_user
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def people(app, estate, clock):
    create_user("root", password=PASSWORD, roles=("admin",), display_name="管理员", clock=clock)
    create_user("designer", password=PASSWORD, roles=("designer",), display_name="林设计", clock=clock)


def watched(page: Page) -> list[str]:
    """The page's Content-Security-Policy refusals (Chromium logs each to the console) and uncaught script
    errors from now on. (bpmn-js logs deprecation errors of its own, which are not the policy's.)"""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def instance_of(number: str) -> int:
    try:
        return db.session.scalar(select(Ticket.instance_id).where(Ticket.number == number))
    finally:
        db.session.remove()


def test_the_console_and_the_admins_instance_diagram_load_under_the_policy(staff, back_office, people):
    number = back_office.open_ticket()
    agent = staff("agent")
    problems = watched(agent)
    for path in ("/", "/?scope=group", f"/tickets/{number}", "/tickets/new", "/account"):
        response = agent.goto(path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
    admin = staff("root")
    problems += watched(admin)
    admin.goto(f"/admin/instances/{instance_of(number)}")
    diagram = admin.locator("#diagram")
    expect(diagram).to_have_attribute("data-state", "ready")
    expect(diagram.locator("svg g.djs-element").first).to_be_attached()
    admin.goto("/admin/dashboard")
    admin.wait_for_load_state("networkidle")
    assert problems == []


def test_the_designers_editors_draw_under_the_policy(staff, people):
    designer = staff("designer")
    problems = watched(designer)
    for name in ("reception.bpmn", "complaint_time_limits.dmn", "complaint_classify.json"):
        designer.goto(f"/designer/files/{name}")
        expect(designer.locator("body")).to_have_attribute("data-editor-ready", "true")
    designer.goto("/designer/files/reception.bpmn")
    expect(designer.locator("body")).to_have_attribute("data-editor-ready", "true")
    expect(designer.locator('g.djs-element[data-element-id="handle_repair"]')).to_be_attached()
    assert problems == []
