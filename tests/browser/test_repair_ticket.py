"""A repair call from the hotline to its close, in Chromium, the way the staff do it.

The agent records the call from the phone system's screen pop, the engineering supervisor
dispatches it, the technician works it on a phone (appointment, inspection, repair, the owner's
signature on the screen), the supervisor confirms, the agent calls the owner back (the call is
theirs at once, due within 24 hours), the manager closes it, and the ticket page shows every step.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import UNIT
from tests.browser.console import (
    TICKET_URL,
    assert_fits_the_screen,
    choose,
    draw_signature,
    open_task_from_inbox,
    submit,
)

pytestmark = pytest.mark.browser

PHONE = "13800138000"
DONE = "已完成，下一步已转交负责人。"
CALLBACK_DUE = "2026-03-03 09:00"  # 24 h after the confirmation: the clock stays at 2026-03-02 09:00


def record_repair_call(agent: Page) -> str:
    """The phone system opens /tickets/new?phone=…; the agent fills in the rest and saves."""
    agent.goto(f"/tickets/new?phone={PHONE}")
    expect(agent.locator("#phone")).to_have_value(PHONE)
    agent.locator("#project").select_option("lanting")
    agent.locator("#unit").press_sequentially("3栋")
    expect(agent.locator(f'#unit-options [role=option][data-value="{UNIT}"]')).to_have_count(1)  # the project's units
    agent.locator("#unit").fill(UNIT)
    agent.locator("#caller_name").fill("张先生")
    agent.locator("#channel").select_option("hotline")
    agent.locator('label[for="category-repair"]').click()  # a category button
    agent.locator("#description").fill("顶层卧室天花板渗水。")
    choose(agent, "urgency", "normal")
    choose(agent, "emergency", "false")
    agent.locator("#part").select_option("roof_waterproof")
    with agent.expect_navigation():
        agent.locator("#save-ticket").click()
    found = TICKET_URL.search(agent.url)
    assert found, agent.url
    number = found.group(1)
    expect(agent.get_by_role("alert")).to_contain_text(number)
    return number


def test_a_repair_call_goes_from_the_hotline_to_the_managers_review_and_the_ticket_shows_every_step(
        staff, clock, fire_timers):
    agent = staff("agent")
    number = record_repair_call(agent)
    expect(agent.locator("#ticket-stage")).to_have_attribute("data-stage", "dispatch")
    expect(agent.locator("#open-tasks")).to_contain_text("派工")

    supervisor = staff("eng_super")
    open_task_from_inbox(supervisor, "派工", scope="group")
    expect(supervisor.locator("#ticket-number")).to_have_text(number)
    expect(supervisor.locator("#ticket_number")).to_have_text(number)  # the form's read-only copy
    supervisor.locator("#technician").select_option("tech")  # the engineering department's technicians
    supervisor.locator("#dispatch_note").fill("带防水材料。")
    submit(supervisor)
    expect(supervisor.get_by_role("alert")).to_have_text(DONE)

    technician = staff("tech", mobile=True)
    technician.goto("/")
    assert_fits_the_screen(technician)
    open_task_from_inbox(technician, "预约上门")
    assert_fits_the_screen(technician)
    expect(technician.locator("#dispatch_note")).to_have_text("带防水材料。")
    expect(technician.locator("#part")).to_have_text("屋面防水")  # a choice's label, not its code
    expect(technician.locator("#due_at")).to_have_text("2026-03-05 09:00")  # 72 h, in local time
    technician.locator("#appointment_at").fill("2026-03-03T09:00")
    submit(technician)

    expect(technician.locator("#task-title")).to_have_text("上门查验")  # the next step is the technician's too
    assert_fits_the_screen(technician)
    choose(technician, "reschedule", "false")
    choose(technician, "owner_withdraws", "false")
    choose(technician, "waiting_for_parts", "false")
    technician.locator("#inspected_part").fill("屋面防水层")
    technician.locator("#repair_items").fill("局部重做防水层。")
    technician.locator("#quote_labour").fill("200")
    technician.locator("#quote_material").fill("150.50")
    submit(technician)

    expect(technician.locator("#task-title")).to_have_text("维修")
    assert_fits_the_screen(technician)
    choose(technician, "waiting_for_parts", "false")
    technician.locator("#actual_labour_hours").fill("3.5")
    technician.locator("#materials").fill("防水涂料 2 桶")
    technician.locator("#fee_labour").fill("200")
    technician.locator("#fee_material").fill("150.50")
    technician.locator("#completed_at").fill("2026-03-03T15:00")
    submit(technician)

    expect(technician.locator("#task-title")).to_have_text("业主验收")
    assert_fits_the_screen(technician)
    choose(technician, "owner_accepts", "true")
    draw_signature(technician, "owner_signature")
    assert_fits_the_screen(technician)
    submit(technician)
    expect(technician.get_by_role("alert")).to_have_text(DONE)
    assert_fits_the_screen(technician)
    technician.goto(f"/tickets/{number}")
    expect(technician.locator("#ticket-stage")).to_have_attribute("data-stage", "confirmation")
    assert_fits_the_screen(technician)

    open_task_from_inbox(supervisor, "工程主管确认", scope="group")
    signature = supervisor.locator("#owner_signature img")
    expect(signature).to_be_visible()
    supervisor.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=signature.element_handle())
    choose(supervisor, "confirmed", "true")
    submit(supervisor)
    expect(supervisor.get_by_role("alert")).to_have_text(DONE)

    agent.goto("/?scope=group")  # the callback is the agent's at once, due within 24 hours of the confirmation
    callback_row = agent.locator("#inbox tbody tr", has_text="回访业主")
    expect(callback_row).to_have_count(1)
    expect(callback_row).to_contain_text(CALLBACK_DUE)
    assert fire_timers() == 0, "no timer stands between the confirmation and the callback"

    open_task_from_inbox(agent, "回访业主", scope="group")
    choose(agent, "reached", "true")
    agent.locator("#satisfaction").select_option("satisfied")
    agent.locator("#remarks").fill("师傅很专业，已经不漏了。")
    submit(agent)
    expect(agent.get_by_role("alert")).to_have_text(DONE)

    manager = staff("manager")
    open_task_from_inbox(manager, "物业经理审核", scope="group")
    choose(manager, "approved", "true")
    manager.locator("#review_note").fill("按时完成。")
    submit(manager)
    expect(manager.get_by_role("alert")).to_have_text(DONE)

    agent.goto(f"/tickets/{number}")
    expect(agent.locator("#ticket-stage")).to_have_attribute("data-stage", "closed")
    expect(agent.locator("#ticket-closed")).not_to_have_text("—")
    expect(agent.locator("#ticket-status")).to_contain_text("已解决")
    expect(agent.locator("#open-tasks")).to_contain_text("无")
    steps = agent.locator("#timeline > li").evaluate_all("""items => items.map(item => [
        item.dataset.action, item.querySelector(".timeline-actor").textContent.trim(),
        item.querySelector(".timeline-task") ? item.querySelector(".timeline-task").textContent.trim() : null])""")
    assert steps == [
        ["start", "王丽", None],
        ["complete", "吴工", "派工"],
        ["complete", "郑师傅", "预约上门"],
        ["complete", "郑师傅", "上门查验"],
        ["complete", "郑师傅", "维修"],
        ["complete", "郑师傅", "业主验收"],
        ["complete", "吴工", "工程主管确认"],
        ["complete", "王丽", "回访业主"],
        ["complete", "冯经理", "物业经理审核"],
    ]
    callback = agent.locator("#timeline > li").nth(7)
    expect(callback).to_contain_text("满意度: 满意")
    expect(callback).to_contain_text("已联系上: 是")
    expect(agent.locator("#timeline > li").nth(5).locator("img.timeline-upload")).to_be_visible()  # printed too
    printed = agent.pdf(format="A4", print_background=False)
    assert len(re.findall(rb"/Type\s*/Page[^s]", printed)) == 1  # the work order prints on one A4 page
    signature_link = agent.locator("#timeline > li").nth(5).get_by_role("link", name="查看")
    assert agent.request.get(signature_link.get_attribute("href")).headers["content-type"] == "image/png"
