"""An owner reports from their phone: the same reception flow starts with channel ``online``, the agent reviews
instead of typing, and the owner follows the ticket's story in plain words."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db, limiter
from app.models.admin import PiiAccess
from tests.scenarios.conftest import (
    APPOINTMENT,
    DISPATCH,
    HANDED_OVER_2_YEARS_AGO,
    OWNER_PHONE,
    TECHNICIAN,
    Desk,
    Opened,
    Staff,
)
from tests.web.owner_pages import code_texted_to, unit_id

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
REVIEW = {"category": "repair", "urgency": "normal", "emergency": False, "part": "plumbing"}


def signed_in_owner(app: Flask, uploads: Path) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["UPLOAD_DIR"] = uploads
    limiter.reset()
    phone = app.test_client()
    phone.post("/owner/sign-in", data={"phone": OWNER_PHONE})
    assert phone.post("/owner/sign-in/code", data={"phone": OWNER_PHONE,
                                                   "code": code_texted_to(OWNER_PHONE)}).status_code == 302
    assert phone.post("/owner/privacy", data={"agree": "yes"}).status_code == 302
    return phone


def report_a_leak(phone: FlaskClient, desk: Desk) -> Opened:
    reported = phone.post("/owner/report", content_type="multipart/form-data", data={
        "unit_id": str(unit_id(HANDED_OVER_2_YEARS_AGO)), "category": "repair", "description": "厨房水槽下水管漏水。",
        "desired_completion_at": "2026-03-03T18:00", "photo": (io.BytesIO(PNG), "leak.png", "image/png")})
    assert reported.status_code == 302, reported.get_data(as_text=True)
    number = re.search(r"KF-\d{8}-\d{4}", reported.headers["Location"])
    assert number is not None
    ticket = desk.ticket(number.group(0))
    return Opened(ticket["number"], ticket["instance_id"])


def test_an_online_report_starts_reception_with_an_intake_review_for_the_agent(app: Flask, desk: Desk,
                                                                                 staff: Staff, tmp_path: Path) -> None:
    phone = signed_in_owner(app, tmp_path)
    ticket = report_a_leak(phone, desk)

    recorded = desk.ticket(ticket)
    assert (recorded["channel"], recorded["unit"], recorded["category"]) == ("online", HANDED_OVER_2_YEARS_AGO,
                                                                                   "repair")
    assert desk.open_task_names(ticket) == ["review_online"]
    review = desk.task_data(staff.agent, desk.task_for(staff.agent, ticket, "review_online"))
    assert review["description"] == "厨房水槽下水管漏水。"
    assert review["desired_completion_at"] == "2026-03-03T18:00:00+08:00"
    assert str(review["photo"]).startswith("upload:")

    viewed = db.session.scalars(select(PiiAccess.username).where(PiiAccess.ticket_number == ticket.number,
                                                                  PiiAccess.action == "view_phone")).all()
    assert "agent" in viewed  # the agent saw the owner's number: logged (PIPL)

    desk.handle(staff.agent, ticket, "review_online", REVIEW, not_by=[staff.tech])
    assert desk.open_task_names(ticket) == ["dispatch_technician"]
    assert desk.task_data(staff.eng_super, desk.task_for(staff.eng_super, ticket, "dispatch_technician"))[
        "desired_completion_at"] == "2026-03-03T18:00:00+08:00"


def test_the_owner_sees_the_ticket_number_at_once_and_its_story_as_it_moves(app: Flask, desk: Desk,
                                                                            staff: Staff, tmp_path: Path) -> None:
    phone = signed_in_owner(app, tmp_path)
    ticket = report_a_leak(phone, desk)
    page = phone.get(f"/owner/tickets/{ticket.number}", follow_redirects=True).get_data(as_text=True)
    assert ticket.number in page
    assert "138****5678" in page and OWNER_PHONE not in page
    assert "客服正在审核您的报事" in page

    desk.handle(staff.agent, ticket, "review_online", REVIEW)
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    page = phone.get(f"/owner/tickets/{ticket.number}").get_data(as_text=True)
    assert "客服已审核" in page
    assert f"已派工给 {TECHNICIAN}" in page
    assert "已预约上门：03-03 09:00" in page
    assert 'href="tel:400-800-0000"' in page  # the service desk: technicians' own numbers stay private
    assert 'id="waiting"' in page


def test_a_duplicate_found_in_the_review_closes_the_online_report(app: Flask, desk: Desk, staff: Staff,
                                                                   tmp_path: Path) -> None:
    original = desk.open()
    phone = signed_in_owner(app, tmp_path)
    ticket = report_a_leak(phone, desk)
    desk.handle(staff.agent, ticket, "review_online", {**REVIEW, "duplicate_of": original.number})
    assert desk.status(ticket) == "completed"
    page = phone.get(f"/owner/tickets/{ticket.number}").get_data(as_text=True)
    assert "已完成" in page
