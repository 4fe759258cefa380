"""The agent on the phone, at 1280×800: typing the caller's number shows who it is and their open ticket and fills the
call in; the duplicate candidates stay in view beside the description; the header search finds a ticket by unit."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PROJECT, UNIT

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
OWNER, OWNER_PHONE = "张伟", "13800138000"  # the estate's register for UNIT (conftest)


def in_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + min(box["height"], 120) <= size["height"]


def test_typing_an_owners_phone_shows_their_open_ticket_and_fills_the_call_in(staff, back_office):
    number = back_office.open_ticket("agent")
    agent = staff("agent")
    agent.set_viewport_size(DESKTOP)
    agent.goto("/tickets/new")
    agent.locator("#phone").press_sequentially(OWNER_PHONE, delay=20)

    panel = agent.locator("#caller-panel")
    expect(panel.locator("#caller-name")).to_have_text(OWNER)
    expect(panel.locator("#caller-owner")).to_be_visible()
    expect(panel.locator("#caller-units")).to_contain_text(f"{PROJECT[1]} {UNIT}")
    expect(panel.locator("#caller-open .caller-ticket-number")).to_have_text([number])
    expect(panel.locator("#caller-open")).to_contain_text("时限")
    expect(agent.locator("#unit")).to_have_value(UNIT)
    expect(agent.locator("#caller_name")).to_have_value(OWNER)
    expect(agent.locator("#project")).to_have_value(PROJECT[0])

    agent.locator('label[for="category-repair"]').click()
    agent.locator("#description").fill("又漏水了")
    expect(agent.locator("#duplicate-list .duplicate-number")).to_have_text([number])
    assert in_view(agent, "#description")
    assert in_view(agent, "#duplicates"), "the duplicate candidates are off screen while the agent types"


def test_picking_a_unit_fills_its_owners_name_and_phone(staff, back_office):
    agent = staff("agent")
    agent.set_viewport_size(DESKTOP)
    agent.goto("/tickets/new")
    agent.locator("#unit").press_sequentially("3栋", delay=20)
    agent.locator("#unit-options [role=option]", has_text=UNIT).click()
    expect(agent.locator("#caller_name")).to_have_value(OWNER)
    expect(agent.locator("#phone")).to_have_value(OWNER_PHONE)
    expect(agent.locator("#caller-name")).to_have_text(OWNER)


def test_the_screen_pop_number_brings_the_caller_and_fills_the_unit(staff, back_office):
    back_office.open_ticket("agent")
    agent = staff("agent")
    agent.set_viewport_size(DESKTOP)
    agent.goto(f"/tickets/new?phone={OWNER_PHONE}")
    expect(agent.locator("#caller-name")).to_have_text(OWNER)
    expect(agent.locator("#unit")).to_have_value(UNIT)
    expect(agent.locator("#caller_name")).to_have_value(OWNER)
    expect(agent.locator("#caller-open li")).to_have_count(1)


def test_the_header_search_finds_a_ticket_by_its_unit_written_short(staff, back_office):
    number = back_office.open_ticket("agent")
    technician = staff("tech")  # every staff member may search their projects' tickets
    technician.set_viewport_size(DESKTOP)
    technician.locator("#header-search").fill("3-1202")
    with technician.expect_navigation():
        technician.locator("#header-search").press("Enter")
    results = technician.locator("#search-results")
    expect(results.locator(".search-number")).to_have_text([number])
    expect(results.locator(".search-project")).to_have_text([PROJECT[1]])
    expect(results.locator(".search-unit")).to_have_text([UNIT])
    expect(results.locator(".search-phone")).to_have_text(["138****8000"])
