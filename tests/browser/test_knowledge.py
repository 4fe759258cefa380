"""The knowledge base on the new-ticket page: as the agent types the caller's question, the answer appears."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_supervisors_answer_appears_beside_the_description_as_the_agent_types(staff):
    supervisor = staff("cs_super")
    supervisor.goto("/knowledge/new")
    supervisor.locator("#title").fill("物业费怎么交？")
    supervisor.locator("#keywords").fill("物业费，缴费，交费")
    supervisor.locator("#category").fill("收费")
    supervisor.locator("#answer").fill("物业费按季度预交，可在公众号“生活缴费”或到前台缴纳。")
    supervisor.locator("#save-answer").click()
    expect(supervisor.locator("#answer-title")).to_have_text("物业费怎么交？")

    agent = staff("agent")
    agent.set_viewport_size({"width": 1280, "height": 800})
    agent.goto("/tickets/new")
    suggestions = agent.locator("#knowledge-suggestions")
    expect(suggestions).to_be_hidden()

    agent.locator("#description").press_sequentially("业主问物业费")

    expect(suggestions).to_be_visible()
    expect(suggestions.locator(".knowledge-answer-title")).to_have_text(["物业费怎么交？"])
    suggestions.locator("summary").click()
    expect(suggestions.locator(".knowledge-answer-text")).to_contain_text("物业费按季度预交")
    panel = suggestions.bounding_box()
    assert panel is not None and 0 <= panel["y"] < 800 - 40  # in view while the agent types, without scrolling

    agent.locator("#description").fill("厨房水管漏水")
    expect(suggestions).to_be_hidden()


def test_a_quick_reply_written_by_the_supervisor_is_inserted_into_a_note_with_one_pick(staff, back_office):
    back_office.open_ticket("agent")
    supervisor = staff("cs_super")
    supervisor.goto("/quick-replies")
    supervisor.locator("#new-reply-title").fill("记录完整")
    supervisor.locator("#new-reply-body").fill("前台记录完整，未发现遗漏。")
    supervisor.locator("#new-reply button").click()
    expect(supervisor.locator("#quick-replies .reply-title")).to_have_text(["记录完整"])

    supervisor.goto("/reception-log")
    note = supervisor.locator("#check-note-input")
    note.fill("3栋漏水明早跟进。")
    supervisor.locator(".quick-reply-picker").select_option(label="记录完整")

    expect(note).to_have_value("3栋漏水明早跟进。前台记录完整，未发现遗漏。")
    supervisor.locator("#check-save").click()
    expect(supervisor.locator("#check-done")).to_contain_text("前台记录完整，未发现遗漏。")
