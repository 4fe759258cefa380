"""An agent on the phone records a call on the New Ticket page with the keyboard alone: focus starts in the
first field to fill, the unit comes from the suggestions by arrow keys and Enter, a number key picks the
category, Enter in a field never sends the call, Ctrl+Enter saves, and a duplicate is attached by keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import UNIT
from tests.browser.console import TICKET_URL

pytestmark = pytest.mark.browser

SCREEN_POP = "/tickets/new?phone=13900139000"


def focused(page: Page) -> str:
    """The id of the element with the keyboard focus ("category-repair" for a category button)."""
    return page.evaluate("document.activeElement && document.activeElement.id")


def focus_ring_width(page: Page) -> float:
    """How wide the focus ring of the focused element is drawn (on the button for a category choice)."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        const drawn = el.classList.contains("btn-check") ? el.nextElementSibling : el;
        const style = getComputedStyle(drawn);
        return style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth);
    }""")


def tab_to(page: Page, element_id: str, *, most: int = 20) -> None:
    for _ in range(most):
        if focused(page) == element_id:
            return
        page.keyboard.press("Tab")
    assert focused(page) == element_id, f"Tab never reached #{element_id}; focus is on #{focused(page)}"


def pick_unit_by_keyboard(agent: Page) -> None:
    expect(agent.locator("#unit")).to_be_focused()
    agent.keyboard.type("3栋")
    suggestion = agent.locator(f'#unit-options [role=option][data-value="{UNIT}"]')
    expect(suggestion).to_be_visible()
    agent.keyboard.press("ArrowDown")
    expect(suggestion).to_have_attribute("aria-selected", "true")
    expect(agent.locator("#unit")).to_have_attribute("aria-activedescendant", suggestion.get_attribute("id") or "")
    agent.keyboard.press("Enter")
    expect(agent.locator("#unit")).to_have_value(UNIT)
    expect(agent.locator("#unit-options")).to_be_hidden()
    assert agent.url.endswith(SCREEN_POP)  # Enter took the suggestion; it did not send the form


def test_an_agent_records_a_call_with_the_keyboard_alone(staff):
    agent = staff("agent")
    agent.goto(SCREEN_POP)
    expect(agent.locator("#phone")).to_have_value("13900139000")
    expect(agent.locator("#project")).to_have_value("lanting")
    expect(agent.locator("#channel")).to_have_value("hotline")

    pick_unit_by_keyboard(agent)
    agent.keyboard.press("Tab")
    assert focused(agent) == "caller_name"
    assert focus_ring_width(agent) >= 2
    agent.keyboard.type("张先生")
    agent.keyboard.press("Enter")  # a habit from other programs: must not send a half-typed call
    assert agent.url.endswith(SCREEN_POP)

    tab_to(agent, "category-repair")  # the first category button: nothing is chosen yet
    expect(agent.locator('.field[data-field="part"]')).to_be_hidden()
    agent.keyboard.press("2")
    expect(agent.locator("#category-complaint")).to_be_checked()
    expect(agent.locator('.field[data-field="complaint_type"]')).to_be_visible()
    agent.keyboard.press("1")
    expect(agent.locator("#category-repair")).to_be_checked()
    assert focused(agent) == "category-repair"
    assert focus_ring_width(agent) >= 2
    expect(agent.locator('.field[data-field="complaint_type"]')).to_be_hidden()
    expect(agent.locator('.field[data-field="part"]')).to_be_visible()

    agent.keyboard.press("Tab")
    assert focused(agent) == "description"
    agent.keyboard.type("卫生间地漏返水。")
    tab_to(agent, "part")
    agent.keyboard.press("ArrowDown")  # a closed list takes the next choice: the first part
    expect(agent.locator("#part")).to_have_value("structure")
    agent.keyboard.press("ArrowDown")
    expect(agent.locator("#part")).to_have_value("roof_waterproof")
    agent.keyboard.press("ArrowDown")
    expect(agent.locator("#part")).to_have_value("kitchen_bathroom_waterproof")

    with agent.expect_navigation():
        agent.keyboard.press("Control+Enter")
    assert TICKET_URL.search(agent.url), agent.url
    expect(agent.get_by_role("alert")).to_contain_text("已登记")
    header = agent.locator(".ticket-header")
    expect(header).to_contain_text("张先生")
    expect(header).to_contain_text("维修")
    expect(header).to_contain_text(UNIT)


def test_a_repeated_call_is_attached_to_the_open_ticket_by_keyboard(staff, back_office):
    first = back_office.open_ticket("agent")
    agent = staff("agent")
    agent.goto(SCREEN_POP)
    pick_unit_by_keyboard(agent)
    agent.keyboard.press("Tab")
    agent.keyboard.type("张太太")
    tab_to(agent, "category-repair")
    agent.keyboard.press("1")

    duplicates = agent.locator("#duplicates")
    expect(duplicates).to_be_visible()
    expect(agent.locator("#duplicate-list .duplicate-number")).to_have_text(first)
    expect(agent.locator("#duplicate-list .duplicate-detail")).to_have_text(re.compile(r"^派工 · 2026-03-02 09:00$"))
    agent.keyboard.press("Tab")
    agent.keyboard.type("又来催：卫生间还在返水。")
    tab_to(agent, f"duplicate-{first}")  # the ticket itself, opened in a new tab if wanted
    agent.keyboard.press("Tab")
    assert agent.evaluate("document.activeElement.classList.contains('attach-call')")
    assert focus_ring_width(agent) >= 2

    with agent.expect_navigation():
        agent.keyboard.press("Enter")
    expect(agent.locator("#ticket-number")).to_have_text(first)
    repeated = agent.locator('#timeline li[data-action="call_attached"]')
    expect(repeated).to_contain_text("又来催")
    expect(repeated).to_contain_text("来电人: 张太太")  # the intake form's labels and choices, not field names
    expect(repeated).to_contain_text("来访渠道: 400 热线")


def test_a_task_form_is_sent_with_ctrl_enter_from_any_field(staff, back_office):
    number = back_office.open_ticket("agent")
    supervisor = staff("eng_super")
    supervisor.goto(f"/tasks/{back_office.task_id(number, 'dispatch_technician')}")
    supervisor.locator("#technician").select_option("tech")
    note = supervisor.locator("#dispatch_note")
    note.fill("带防水材料。")

    with supervisor.expect_navigation():
        note.press("Control+Enter")
    expect(supervisor.get_by_role("alert")).to_contain_text("已完成")
    assert back_office.task_id(number, "agree_appointment")  # the technician has the next step


def test_a_call_sent_without_its_description_comes_back_with_the_focus_on_the_description(staff):
    agent = staff("agent")
    agent.goto(SCREEN_POP)
    pick_unit_by_keyboard(agent)
    agent.keyboard.press("Tab")
    agent.keyboard.type("李女士")
    tab_to(agent, "category-repair")
    agent.keyboard.press("4")  # life service

    with agent.expect_navigation() as sent:
        agent.keyboard.press("Control+Enter")
    assert sent.value is not None and sent.value.status == 422
    expect(agent.locator("#description")).to_be_focused()
    expect(agent.locator("#caller_name")).to_have_value("李女士")
    expect(agent.locator("#category-life_service")).to_be_checked()

    agent.keyboard.type("想预约下周家政保洁。")
    with agent.expect_navigation():
        agent.keyboard.press("Control+Enter")
    assert TICKET_URL.search(agent.url), agent.url
    expect(agent.locator(".ticket-header")).to_contain_text("生活服务")
