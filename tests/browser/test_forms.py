"""A form sent back for a missing field keeps everything else that was entered, and says which field."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser.conftest import UNIT
from tests.browser.console import TASK_URL, assert_fits_the_screen, choose, draw_signature, submit

pytestmark = pytest.mark.browser

CORRECT_THE_FIELDS = "请修改标出的字段。"


def re_class(name: str) -> re.Pattern[str]:
    """Matches a class attribute holding the class ``name``."""
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def test_a_new_ticket_without_its_description_keeps_every_other_input_and_marks_the_description(staff):
    agent = staff("agent")
    agent.goto("/tickets/new?phone=13800138000")
    agent.locator("#project").select_option("lanting")
    agent.locator("#unit").fill(UNIT)
    agent.locator("#caller_name").fill("张先生")
    agent.locator("#channel").select_option("walk_in")
    agent.locator('label[for="category-repair"]').click()  # a category button
    choose(agent, "urgency", "urgent")
    choose(agent, "emergency", "false")
    agent.locator("#part").select_option("plumbing")
    choose(agent, "major_repair", "false")
    with agent.expect_navigation() as sent:
        agent.locator("#save-ticket").click()

    assert sent.value is not None and sent.value.status == 422
    expect(agent.get_by_role("alert")).to_have_text(CORRECT_THE_FIELDS)
    expect(agent.locator("#project")).to_have_value("lanting")
    expect(agent.locator("#unit")).to_have_value(UNIT)
    expect(agent.locator("#caller_name")).to_have_value("张先生")
    expect(agent.locator("#phone")).to_have_value("13800138000")
    expect(agent.locator("#channel")).to_have_value("walk_in")
    expect(agent.locator("#category-repair")).to_be_checked()
    expect(agent.locator("#urgency-urgent")).to_be_checked()
    expect(agent.locator("#emergency-false")).to_be_checked()
    expect(agent.locator("#part")).to_have_value("plumbing")
    expect(agent.locator("#major_repair-false")).to_be_checked()
    description = agent.locator("#description")
    expect(description).to_have_class(re_class("is-invalid"))
    expect(agent.locator('[data-field="description"] .field-error')).to_have_text("必填")
    expect(agent.locator(".category-picker")).not_to_have_class(re_class("is-invalid"))
    for name in ("unit", "caller_name", "phone", "channel", "part"):
        expect(agent.locator(f"#{name}")).not_to_have_class(re_class("is-invalid"))

    description.fill("厨房水管漏水。")
    with agent.expect_navigation():
        agent.locator("#save-ticket").click()
    expect(agent.get_by_role("alert")).to_contain_text("已登记")


def test_a_repair_report_without_its_completion_time_keeps_the_figures_on_the_technicians_phone(
        staff, back_office):
    number = back_office.open_ticket()
    task_id = back_office.repair_until(number, "carry_out_repair")
    technician = staff("tech", mobile=True)
    technician.goto(f"/tasks/{task_id}")
    choose(technician, "waiting_for_parts", "false")
    technician.locator("#actual_labour_hours").fill("3.5")
    technician.locator("#materials").fill("防水涂料 2 桶")
    technician.locator("#fee_labour").fill("200")
    technician.locator("#fee_material").fill("150.50")
    submit(technician)

    expect(technician.get_by_role("alert")).to_have_text("1 处需要修改：完成时间")  # the banner names the field
    expect(technician.locator("#task-title")).to_have_text("维修")
    expect(technician.locator("#waiting_for_parts-false")).to_be_checked()
    expect(technician.locator("#actual_labour_hours")).to_have_value("3.5")
    expect(technician.locator("#materials")).to_have_value("防水涂料 2 桶")
    expect(technician.locator("#fee_labour")).to_have_value("200")
    expect(technician.locator("#fee_material")).to_have_value("150.50")
    expect(technician.locator("#completed_at")).to_have_class(re_class("is-invalid"))
    expect(technician.locator('[data-field="completed_at"] .field-error')).to_have_text("必填")
    assert_fits_the_screen(technician)

    technician.locator("#completed_at").fill("2026-03-03T15:00")
    submit(technician)
    expect(technician.locator("#task-title")).to_have_text("业主验收")


def test_a_signature_drawn_before_the_form_came_back_is_still_there_to_send(app, staff, back_office):
    number = back_office.open_ticket()
    task_id = back_office.repair_until(number, "owner_acceptance")
    technician = staff("tech", mobile=True)
    technician.goto(f"/tasks/{task_id}")
    draw_signature(technician, "owner_signature")  # signed, but "accepts" not ticked yet
    submit(technician)

    expect(technician.get_by_role("alert")).to_have_text("1 处需要修改：业主验收通过")
    expect(technician.locator('[data-field="owner_accepts"] .field-error')).to_have_text("必填")
    uploads = app.config["UPLOAD_DIR"]
    assert not list(uploads.glob("*")), "a refused form left its signature file behind"
    expect(technician.locator('.signature-box[data-target="owner_signature"]')).not_to_have_class(
        re_class("is-invalid"))
    assert technician.locator("#owner_signature").input_value().startswith("data:image/png;base64,")
    try:
        technician.wait_for_function("""() => {
            const canvas = document.querySelector(".signature-pad");
            return canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data.some((v) => v);
        }""", timeout=5_000)
    except PlaywrightTimeoutError:
        pytest.fail("the signature kept in the form is not shown on its canvas")
    assert_fits_the_screen(technician)

    choose(technician, "owner_accepts", "true")
    submit(technician)
    expect(technician.get_by_role("alert")).to_have_text("已完成，下一步已转交负责人。")
    assert not TASK_URL.search(technician.url)
    assert len(list(uploads.glob("*.png"))) == 1


def test_accepting_without_the_owners_signature_marks_the_signature(staff, back_office):
    number = back_office.open_ticket()
    task_id = back_office.repair_until(number, "owner_acceptance")
    technician = staff("tech", mobile=True)
    technician.goto(f"/tasks/{task_id}")
    choose(technician, "owner_accepts", "true")
    submit(technician)

    expect(technician.locator("#owner_accepts-true")).to_be_checked()
    expect(technician.locator('.signature-box[data-target="owner_signature"]')).to_have_class(re_class("is-invalid"))
    expect(technician.locator('[data-field="owner_signature"] .field-error')).to_have_text("必填")
    draw_signature(technician, "owner_signature")
    submit(technician)
    expect(technician.get_by_role("alert")).to_have_text("已完成，下一步已转交负责人。")
