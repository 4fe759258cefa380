"""A task page on the technician's phone (390×844): the ticket summary once and folded, the cursor in the first
field, the submit button always in view, and a refused form that opens at its first error and names it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UNIT
from tests.browser.console import assert_fits_the_screen, choose

pytestmark = pytest.mark.browser

REQUIRED_NOW = re.compile(r"(^|\s)required-now(\s|$)")  # the conditional asterisk is on


@pytest.fixture
def inspection(staff, back_office):
    """The technician's phone on the inspection of a leaking-ceiling repair."""
    number = back_office.open_ticket(description="顶层卧室天花板渗水。\n雨天更严重。")
    task_id = back_office.repair_until(number, "inspect_on_site")
    technician = staff("tech", mobile=True)
    technician.goto(f"/tasks/{task_id}")
    return technician, number


def test_the_ticket_summary_is_shown_once_folded_and_the_first_field_has_the_cursor(inspection):
    technician, number = inspection
    summary = technician.locator("#ticket-summary")
    expect(summary).not_to_have_attribute("open", "")
    expect(summary.locator("summary")).to_contain_text(number)
    expect(summary.locator("summary")).to_contain_text(f"兰亭苑 {UNIT}")
    expect(summary.locator(".ticket-summary-problem")).to_have_text("顶层卧室天花板渗水。")
    expect(summary.locator(".ticket-header")).to_be_hidden()
    expect(technician.locator("#task-form #ticket_number")).to_have_count(0)  # the facts are not repeated in the form
    expect(technician.locator("#task-history")).not_to_have_attribute("open", "")
    expect(technician.locator("#appointment_at")).to_be_focused()  # the first field to fill

    summary.locator("summary").click()
    expect(summary.locator(".ticket-header")).to_be_visible()
    expect(summary.locator("#description")).to_contain_text("雨天更严重。")

    expect(technician.locator("#complete-task")).to_be_in_viewport()
    technician.locator("#parts_note").scroll_into_view_if_needed()
    expect(technician.locator("#complete-task")).to_be_in_viewport()  # still there further down
    expect(technician.locator("#photo_before")).to_have_attribute("type", "file")
    assert_fits_the_screen(technician)


def test_asterisks_follow_the_answers_counters_count_and_formats_are_spelled_out(inspection):
    technician, _ = inspection
    appointment = technician.locator('[data-field="appointment_at"]')
    expect(appointment.locator(".conditional-mark")).to_have_text("*")
    expect(appointment.locator(".required-when")).to_have_text("改约为“是”时必填")
    expect(appointment).not_to_have_class(REQUIRED_NOW)
    choose(technician, "reschedule", "true")
    expect(appointment).to_have_class(REQUIRED_NOW)
    choose(technician, "reschedule", "false")
    expect(appointment).not_to_have_class(REQUIRED_NOW)
    expect(appointment.locator(".field-format")).to_have_text("日期和时间，如 2026-03-02 09:00")
    expect(technician.locator("#quote_labour-format")).to_have_text("金额（元），最多两位小数")

    counter = technician.locator("#repair_items-counter")
    expect(counter).to_have_text("0 / 4000")
    technician.locator("#repair_items").fill("局部重做防水层。")
    expect(counter).to_have_text("8 / 4000")
    expect(technician.locator("#inspected_part")).to_have_attribute("maxlength", "200")


def test_a_refused_inspection_opens_at_its_first_error_and_the_banner_names_each(inspection):
    technician, _ = inspection
    choose(technician, "reschedule", "false")
    choose(technician, "owner_withdraws", "false")
    choose(technician, "waiting_for_parts", "true")
    with technician.expect_navigation() as sent:
        technician.locator("#complete-task").click()

    assert sent.value is not None and sent.value.status == 422
    banner = technician.get_by_role("alert")
    expect(banner).to_have_text("4 处需要修改：查勘部位、查勘修理项目、预计到货、等待的配件")
    first = technician.locator("#inspected_part")
    expect(first).to_be_focused()
    expect(first).to_be_in_viewport()
    expect(technician.locator("#complete-task")).to_be_in_viewport()
    expect(technician.locator("#waiting_for_parts-true")).to_be_checked()

    technician.locator("#inspected_part").fill("屋面防水层")
    banner.get_by_role("link", name="等待的配件").click()
    expect(technician.locator("#parts_note")).to_be_focused()
    assert_fits_the_screen(technician)


# A 1×1 PNG, as a phone's camera would send a (much larger) photo.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e221bc330000000049454e44ae426082")


def test_the_photo_taken_before_the_repair_is_shown_on_the_repair_form_next_to_the_after_photo(inspection):
    technician, _ = inspection
    choose(technician, "reschedule", "false")
    choose(technician, "owner_withdraws", "false")
    choose(technician, "waiting_for_parts", "false")
    technician.locator("#inspected_part").fill("卫生间防水层")
    technician.locator("#repair_items").fill("重做防水。")
    technician.locator("#photo_before").set_input_files(
        files=[{"name": "before.png", "mimeType": "image/png", "buffer": PIXEL}])
    with technician.expect_navigation():
        technician.locator("#complete-task").click()

    expect(technician.locator("#task-title")).to_have_text("维修")
    before = technician.locator("#photo_before img")
    expect(before).to_be_visible()
    technician.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=before.element_handle())
    expect(technician.locator("#photo_after")).to_have_attribute("type", "file")
    expect(technician.locator("#photo_after")).to_have_attribute("capture", "environment")
