"""The owner's whole journey on their phone (390×844, Chromium): signs in with the texted code, reports a leak
with a photo, sees it dispatched, confirms the visit, refuses and then accepts the quote, signs the acceptance
from the technician's link and rates 满意 — the callback then ends without a call. On another ticket a
不满意 rating still brings the call, and the ticket is reopened as a complaint at level 2.

Staff steps are taken through the services (``back_office``), except the technician's "ask the owner to
sign remotely", tapped on the technician's own phone.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, Ticket
from app.models.jobs import OutboxMessage
from app.services.people.organisation import create_unit
from app.services.people.users import create_user
from app.services.work.tasks import complete_task
from tests.browser.conftest import PASSWORD, PROJECT, BackOffice, Staff
from tests.browser.console import assert_fits_the_screen
from tests.browser.test_owner_channel import PHONE, a_photo, sign_in

pytestmark = pytest.mark.browser

FLASH = ".notice-success[role=status]"  # what a page says after an answer
OLD_UNIT = "1栋-0302"  # handed over in 2018: outside every warranty, so the owner pays and is asked about a quote
INSPECTION = {"reschedule": False, "owner_withdraws": False, "waiting_for_parts": False, "inspected_part": "下水管",
              "repair_items": "更换水槽下水管。", "quote_labour": 120.0, "quote_material": 80.0}
REPAIR_DONE = {"waiting_for_parts": False, "actual_labour_hours": 1.5, "materials": "下水管 1 根",
               "fee_labour": 120.0, "fee_material": 80.0, "completed_at": "2026-03-03T15:00:00+08:00"}


def link_in_text(template: str, number: str) -> str:
    """The owner-page path in the newest text of ``template`` about ticket ``number``."""
    try:
        body = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == PHONE,
                                                                   OutboxMessage.template == template)
                                  .order_by(OutboxMessage.id.desc())).first()
    finally:
        db.session.remove()
    assert body is not None and number in body, f"no {template} text about {number}"
    found = re.search(r"/owner/tickets/\S+/(sign|rate)", body)
    assert found is not None, body
    return found.group(0)


def open_steps(number: str) -> list[str]:
    try:
        instance_id = db.session.scalar(select(Ticket.instance_id).where(Ticket.number == number))
        return sorted(db.session.scalars(select(HumanTask.element_id).where(HumanTask.instance_id == instance_id,
                                                                            HumanTask.state == "open")))
    finally:
        db.session.remove()


def reopened_complaint(number: str) -> Ticket | None:
    try:
        original = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        return db.session.scalars(select(Ticket).where(Ticket.reopened_from_id == original.id)).first()
    finally:
        db.session.expunge_all()
        db.session.remove()


def report_a_leak(owner: Page, tmp_path_factory: pytest.TempPathFactory) -> str:
    owner.click("#new-report")
    owner.check("#category-repair")
    old_unit = owner.locator("#unit_id option", has_text=OLD_UNIT).get_attribute("value")
    owner.select_option("#unit_id", old_unit)
    owner.fill("#description", "厨房水槽下水管漏水。")
    owner.set_input_files("#photo", a_photo(tmp_path_factory))
    expect(owner.locator("#photo")).to_have_attribute("data-resized", "1")
    owner.click("#submit-report")
    number = owner.locator("#ticket-number")
    expect(number).to_have_text(re.compile(r"KF-\d{8}-\d{4}"))
    return number.inner_text()


def draw_a_signature(owner: Page) -> None:
    box = owner.locator("#signature-pad canvas").bounding_box()
    assert box is not None
    owner.mouse.move(box["x"] + 30, box["y"] + 120)
    owner.mouse.down()
    for step in range(1, 12):
        owner.mouse.move(box["x"] + 30 + step * 25, box["y"] + 120 - (step % 3) * 30)
    owner.mouse.up()


def test_an_owner_answers_every_step_from_the_phone(staff: Staff, back_office: BackOffice, app: Flask,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    create_unit(PROJECT[0], OLD_UNIT, owner_name="张伟", owner_phone=PHONE, handover_date=date(2018, 5, 1))
    # outside the warranty an owner's repair is the property department's
    create_user("prop_super", password=PASSWORD, roles=("eng_supervisor",), departments=("property",),
                display_name="孙工", clock=app.extensions["kefu"].clock)
    db.session.remove()
    owner = staff.visitor("owner", mobile=True)
    sign_in(owner)
    number = report_a_leak(owner, tmp_path_factory)

    back_office.complete(number, "review_online", "agent",
                         {"category": "repair", "urgency": "normal", "emergency": False, "part": "plumbing"})
    back_office.complete(number, "dispatch_technician", "prop_super", {"technician": "tech"})
    back_office.complete(number, "agree_appointment", "tech", {"appointment_at": "2026-03-03T09:00:00+08:00"})
    owner.reload()
    expect(owner.locator("#story")).to_contain_text("已派工给 郑师傅")
    expect(owner.locator("#appointment-at")).to_contain_text("2026")
    assert_fits_the_screen(owner)
    owner.click("#confirm-appointment")
    expect(owner.locator(FLASH)).to_contain_text("上门时间已确认")
    expect(owner.locator("#appointment-confirmed")).to_be_visible()
    assert open_steps(number) == ["inspect_on_site"]

    back_office.complete(number, "inspect_on_site", "tech", INSPECTION)
    owner.reload()
    owner.click("#answer-quote")
    expect(owner.locator("#quote-total")).to_have_text("¥200.00")
    assert_fits_the_screen(owner)
    owner.check("#decision-refuse")
    owner.click("#send-quote-answer")
    expect(owner.locator("#reason-error")).to_be_visible()  # refusing needs a reason, as at the desk
    owner.fill("#reason", "想先问问物业有没有更便宜的做法。")
    owner.click("#send-quote-answer")
    expect(owner.locator(FLASH)).to_contain_text("沟通报价")
    assert open_steps(number) == ["owner_consents"]
    owner.click("#answer-quote")
    owner.check("#decision-agree")
    owner.select_option("#payment_method", "mobile")
    owner.click("#send-quote-answer")
    expect(owner.locator(FLASH)).to_contain_text("按报价维修")
    assert open_steps(number) == ["carry_out_repair"]

    back_office.complete(number, "carry_out_repair", "tech", REPAIR_DONE)
    technician = staff("tech", mobile=True)
    technician.goto(f"/tasks/{back_office.task_id(number, 'owner_acceptance')}")
    technician.click("#ask-owner-to-sign button")
    expect(technician.locator(".alert-success, .notice-success, [role=status]").first).to_contain_text("138****8000")

    owner.goto(link_in_text("owner_sign_link", number))
    assert_fits_the_screen(owner)
    draw_a_signature(owner)
    owner.click("#send-signature")
    expect(owner.locator(FLASH)).to_contain_text("签名验收")
    assert open_steps(number) == ["confirm_repair"]

    back_office.complete(number, "confirm_repair", "prop_super", {"confirmed": True})
    assert open_steps(number) == ["call_owner"]
    owner.goto(link_in_text("owner_rating_link", number))
    assert_fits_the_screen(owner)
    owner.check("#rating-satisfied")
    owner.fill("#comment", "师傅很细心。")
    owner.click("#send-rating")
    expect(owner.locator(FLASH)).to_contain_text("感谢您的评价")
    assert open_steps(number) == ["manager_review"]  # the callback ended: no call to make


def test_a_dissatisfied_rating_on_another_ticket_reopens_it_as_a_complaint_at_level_two(
        staff: Staff, back_office: BackOffice, app: Flask) -> None:
    number = back_office.open_ticket()
    back_office.repair_until(number, "owner_acceptance")
    back_office.complete(number, "owner_acceptance", "tech", {"owner_accepts": True,
                                                              "owner_signature": "files/signature-0001.png"})
    back_office.complete(number, "confirm_repair", "eng_super", {"confirmed": True})
    owner = staff.visitor("owner", mobile=True)
    sign_in(owner)

    owner.goto(link_in_text("owner_rating_link", number))
    owner.check("#rating-dissatisfied")
    owner.fill("#comment", "还在漏水。")
    owner.click("#send-rating")
    expect(owner.locator(FLASH)).to_contain_text("感谢您的评价")

    assert open_steps(number) == ["call_owner"]  # a dissatisfied owner is still called
    back_office.complete(number, "call_owner", "agent", {"reached": True, "satisfaction": "dissatisfied",
                                                         "remarks": "还在漏水。"})
    closed = complete_task(app.extensions["kefu"], back_office.task_id(number, "manager_review"),
                           {"approved": True, "review_note": "转投诉跟进。"}, user=back_office.principal("manager"))
    db.session.remove()
    assert closed.status == "completed"
    complaint = reopened_complaint(number)
    assert complaint is not None
    assert (complaint.category, complaint.escalation_level) == ("complaint", 2)
    owner.goto("/owner/")
    expect(owner.locator("#tickets")).to_contain_text(complaint.number)
