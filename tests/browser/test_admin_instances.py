"""An admin answers "where is this ticket and why is it late?" in the browser: finds an overdue ticket by
the caller's phone number, sees its active task marked on the diagram, and reassigns it with a reason."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.services.people.users import create_user
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def admins(app, estate, clock):
    create_user("root", password=PASSWORD, roles=("admin",), display_name="管理员", clock=clock)
    create_user("eng_super2", password=PASSWORD, roles=("eng_supervisor",), departments=("engineering",),
                display_name="钱工", clock=clock)


def test_an_admin_finds_an_overdue_ticket_by_phone_sees_its_task_on_the_diagram_and_reassigns_it(
        staff, back_office, admins, clock):
    number = back_office.open_ticket(phone="13912345678")
    back_office.open_ticket()  # another caller's ticket, not found by the phone number
    clock.advance(timedelta(days=30))  # long past the work order's deadline
    admin = staff("root")

    admin.locator("#nav-admin").click()
    admin.fill("#f-text", "13912345678")
    admin.check("#f-overdue")
    admin.click("#apply-filter")
    rows = admin.locator("#instances tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    expect(rows.first).to_contain_text("139****5678")
    expect(rows.first.locator(".badge.text-bg-danger")).to_be_visible()  # overdue
    rows.first.locator(".instance-link").click()

    expect(admin.locator("#instance-overdue")).to_be_visible()
    diagram = admin.locator("#diagram")
    expect(diagram).to_have_attribute("data-state", "ready")
    expect(diagram).to_have_attribute("data-process", "reception")
    call = admin.locator('#diagram g.djs-element[data-element-id="handle_repair"]')
    expect(call).to_have_class(re.compile(r"\bel-active\b"))
    call.click()  # a call activity opens the called process's diagram
    expect(diagram).to_have_attribute("data-process", "repair")
    task = admin.locator('#diagram g.djs-element[data-element-id="dispatch_technician"]')
    expect(task).to_have_class(re.compile(r"\bel-active\b"))
    expect(admin.locator('#diagram .diagram-badge[data-element="dispatch_technician"]')).to_have_text("1")
    admin.locator("#diagram-path button", has_text="reception").click()
    expect(diagram).to_have_attribute("data-process", "reception")

    row = admin.locator('#open-tasks tr[data-element="dispatch_technician"]')
    expect(row).to_be_visible()
    repairs = admin.locator("#open-tasks .task-repairs").first
    repairs.locator("summary").click()
    form = repairs.locator(".reassign-form")
    form.locator("[name=username]").fill("eng_super2")
    form.locator("[name=reason]").fill("吴工休假，改派钱工")
    form.get_by_role("button").click()

    expect(admin.locator(".alert-success")).to_be_visible()
    assignee = admin.locator('#open-tasks tr[data-element="dispatch_technician"] .task-assignee')
    expect(assignee).to_have_text("钱工")  # by name, not login
    expect(admin.locator('#timeline li[data-action="reassigned"]')).to_have_count(1)


def test_the_version_page_draws_where_instances_wait(staff, back_office, admins):
    back_office.open_ticket()
    back_office.open_ticket(phone="13912345678")
    admin = staff("root")
    admin.goto("/admin/definitions")
    admin.locator('section[data-process="reception"] .versions a').first.click()
    diagram = admin.locator("#diagram")
    expect(diagram).to_have_attribute("data-state", "ready")
    call = admin.locator('#diagram g.djs-element[data-element-id="handle_repair"]')
    expect(call).to_have_class(re.compile(r"\bel-active\b"))
    expect(admin.locator('#diagram .diagram-badge[data-element="handle_repair"]')).to_have_text("2")
    call.click()
    expect(diagram).to_have_attribute("data-process", "repair")
    expect(admin.locator('#diagram .diagram-badge[data-element="dispatch_technician"]')).to_have_text("2")
