"""What a person may not do is refused in their language, and nothing on their screen leads there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.console import assert_fits_the_screen

pytestmark = pytest.mark.browser


def test_a_technician_opening_a_complaint_task_gets_the_chinese_403_page(staff, back_office):
    number = back_office.open_ticket(category="complaint", complaint_type="property_service",
                                     description="保安夜里不巡逻。", part=None)
    task_id = back_office.task_id(number, "judge_validity")
    technician = staff("tech", mobile=True)

    response = technician.goto(f"/tasks/{task_id}")

    assert response is not None and response.status == 403
    expect(technician.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(technician.get_by_role("heading", level=1)).to_have_text("您无权打开此页面")
    expect(technician.locator("#error-message")).to_have_text("您无权办理此任务")
    expect(technician.get_by_text("判断有效性")).to_have_count(0)  # not even the task's name
    assert_fits_the_screen(technician)
    technician.get_by_role("link", name="返回我的待办").click()
    expect(technician.locator("#tab-mine")).to_be_visible()


def test_the_menu_offers_a_new_ticket_only_to_those_who_may_record_calls(staff):
    agent = staff("agent")
    expect(agent.locator("#nav-new-ticket")).to_have_text("新建工单")

    technician = staff("tech", mobile=True)
    expect(technician.locator("#nav-inbox")).to_be_visible()
    expect(technician.locator("#nav-new-ticket")).to_have_count(0)
    response = technician.goto("/tickets/new")
    assert response is not None and response.status == 403
    expect(technician.get_by_role("heading", level=1)).to_have_text("您无权打开此页面")
    assert_fits_the_screen(technician)
