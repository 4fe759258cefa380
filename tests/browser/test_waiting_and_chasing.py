"""At 1280×800: a chase call attached from the new-ticket page is confirmed with the number to read out, and a
ticket page says what the ticket waits for, with a countdown, and offers the CS supervisor to dispatch it now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UNIT

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
NIGHT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # Monday 22:00 in Shanghai


def test_a_chase_call_attached_to_the_open_ticket_is_confirmed_with_its_number_and_count(staff, back_office):
    number = back_office.open_ticket("agent")
    agent = staff("agent")
    agent.set_viewport_size(DESKTOP)
    agent.goto("/tickets/new?phone=13800138000")
    agent.locator("#project").select_option("lanting")
    agent.locator("#unit").fill(UNIT)
    agent.locator("#description").fill("又来催：卧室天花板还在滴水。")
    agent.locator('label[for="category-repair"]').click()
    expect(agent.locator("#duplicate-list .duplicate-number")).to_have_text(number)

    with agent.expect_navigation():
        agent.locator(".attach-call").click()

    confirmation = agent.locator("#chase-confirmation")
    expect(confirmation).to_contain_text(f"已合并到工单 {number}，已催办第 1 次。")
    expect(confirmation).to_be_in_viewport()
    expect(agent.locator("#chase-count")).to_have_text("催办 ×1")
    expect(agent.locator("#timeline")).to_contain_text("来电催办")


def test_a_night_held_ticket_says_it_waits_for_the_morning_and_the_supervisor_dispatches_it_now(
        staff, back_office, clock):
    clock.set(NIGHT)
    number = back_office.open_ticket("agent")

    agent = staff("agent")
    agent.set_viewport_size(DESKTOP)
    agent.goto(f"/tickets/{number}")
    expect(agent.locator("#waiting-for")).to_have_text("等待早班 03-03 08:00 派单")
    expect(agent.locator("#waiting-countdown")).to_have_text("还剩 10 小时")
    expect(agent.locator("#waiting-for")).to_be_in_viewport()
    expect(agent.locator("#wait-actions")).to_have_count(0)  # only the CS supervisor may act on a wait

    supervisor = staff("cs_super")
    supervisor.set_viewport_size(DESKTOP)
    supervisor.goto(f"/tickets/{number}")
    supervisor.locator("#wait-reason").fill("业主家中漏水加重，立即派单。")
    with supervisor.expect_navigation():
        supervisor.locator("#wait-dispatch-now").click()

    expect(supervisor.locator(".alert-success")).to_contain_text("已完成：立即派单。")
    expect(supervisor.locator("#waiting-for")).to_contain_text("等待「早班接手」")
    expect(supervisor.locator("#open-tasks")).to_contain_text("早班接手")
    expect(supervisor.locator("#timeline")).to_contain_text("业主家中漏水加重，立即派单。")
