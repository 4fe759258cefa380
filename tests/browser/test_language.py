"""Chinese first; one press on "English" turns the console, forms included, into English, and back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD
from tests.browser.console import assert_fits_the_screen

pytestmark = pytest.mark.browser


def test_the_english_switch_turns_pages_and_forms_into_english_and_is_remembered(staff, back_office):
    number = back_office.open_ticket()
    task_id = back_office.task_id(number, "dispatch_technician")
    supervisor = staff("eng_super")
    supervisor.goto(f"/tasks/{task_id}")
    expect(supervisor.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(supervisor.locator("#task-title")).to_have_text("派工")
    expect(supervisor.locator('label[for="technician"]')).to_contain_text("维修人员")

    with supervisor.expect_navigation():
        supervisor.locator("#switch-language").click()

    assert supervisor.url.endswith(f"/tasks/{task_id}")  # the same page, now in English
    expect(supervisor.locator("html")).to_have_attribute("lang", "en")
    expect(supervisor.locator("#task-title")).to_have_text("Dispatch")
    expect(supervisor.locator('label[for="technician"]')).to_contain_text("Technician")
    expect(supervisor.locator("#part")).to_have_text("Roof waterproofing")
    expect(supervisor.locator("#complete-task")).to_have_text("Submit")
    expect(supervisor.locator("#timeline")).to_contain_text("Started")
    expect(supervisor.locator("#switch-language")).to_have_text("中文")

    supervisor.goto("/")
    expect(supervisor.locator("#tab-mine")).to_contain_text("My tasks")
    expect(supervisor.locator("#nav-inbox")).to_have_text("Inbox")

    supervisor.locator("#log-out").click()  # the choice belongs to the person, not to this browser
    supervisor.context.clear_cookies()
    supervisor.goto("/login")
    expect(supervisor.get_by_role("heading", level=1)).to_have_text("登录")
    supervisor.locator("#username").fill("eng_super")
    supervisor.locator("#password").fill(PASSWORD)
    supervisor.locator("button[type=submit]").click()
    expect(supervisor.locator("#tab-mine")).to_contain_text("My tasks")

    with supervisor.expect_navigation():
        supervisor.locator("#switch-language").click()
    expect(supervisor.locator("#tab-mine")).to_contain_text("我的待办")
    expect(supervisor.locator("html")).to_have_attribute("lang", "zh-CN")


def test_the_login_page_switches_to_english_before_anyone_logs_in(staff):
    page = staff.visitor(mobile=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    with page.expect_navigation():
        page.locator("#switch-language").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.locator('label[for="username"]')).to_have_text("Username")
    assert_fits_the_screen(page)
