"""Before dispatching, the agent sees the unit's open ticket of the same category and attaches the call to it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UNIT

pytestmark = pytest.mark.browser


def test_a_repeated_call_is_attached_to_the_open_ticket_instead_of_dispatched_twice(staff, back_office):
    first = back_office.open_ticket("agent")
    agent = staff("agent")
    agent.goto("/tickets/new?phone=13900139000")
    duplicates = agent.locator("#duplicates")
    expect(duplicates).to_be_hidden()

    agent.locator("#project").select_option("lanting")
    agent.locator("#unit").fill(UNIT)
    agent.locator("#caller_name").fill("张太太")
    agent.locator("#description").fill("又来催：厨房还在漏水。")
    agent.locator('label[for="category-repair"]').click()  # a category button
    expect(duplicates).to_be_visible()
    expect(agent.locator("#duplicate-list li")).to_have_count(1)
    expect(agent.locator("#duplicate-list .duplicate-number")).to_have_text(first)

    with agent.expect_navigation():
        agent.locator(".attach-call").click()
    expect(agent.locator("#ticket-number")).to_have_text(first)
    expect(agent.locator("#timeline")).to_contain_text("重复来电")
    expect(agent.locator("#timeline")).to_contain_text("又来催")
    assert first.endswith("-0001")
    assert agent.request.get(f"/api/v1/tickets/{first[:-4]}0002").status == 404  # no second ticket was opened
