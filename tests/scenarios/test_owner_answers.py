"""The owner answers from the phone, in the flows: confirms or moves the visit, refuses then accepts a quote,
signs the acceptance from the technician's link, and rates the service before the callback is made.

Each answer is a message the diagrams wait for beside the staff's own step; the tests go through the owner's
pages (HTTP) and check what the desk then sees through the API.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models.jobs import OutboxMessage
from tests.scenarios.conftest import (
    ACCEPTED,
    APPOINTMENT,
    CONFIRMED,
    DISPATCH,
    HANDED_OVER_6_YEARS_AGO,
    INSPECTION,
    OTHER_PROJECT_UNIT,
    OWNER_PHONE,
    REPAIR_DONE,
    REVIEWED,
    TECHNICIAN,
    Desk,
    Opened,
    Staff,
    call_back,
)
from tests.scenarios.test_callback_scenarios import assert_reopened_as_complaint
from tests.scenarios.test_owner_channel_scenarios import signed_in_owner

SIGNATURE_PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()


@pytest.fixture
def phone(app: Flask, tmp_path: Path) -> FlaskClient:
    """The owner of 3栋-1202 and 1栋-0302 (13812345678), signed in on their phone."""
    return signed_in_owner(app, tmp_path)


def at_the_visit(desk: Desk, staff: Staff, ticket: Opened, supervisor: str = "eng_super") -> None:
    desk.handle(getattr(staff, supervisor), ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)


def at_the_acceptance(desk: Desk, staff: Staff, ticket: Opened) -> None:
    at_the_visit(desk, staff, ticket)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)


def at_the_callback(desk: Desk, staff: Staff, ticket: Opened) -> None:
    at_the_acceptance(desk, staff, ticket)
    desk.handle(staff.tech, ticket, "owner_acceptance", ACCEPTED)
    desk.handle(staff.eng_super, ticket, "confirm_repair", CONFIRMED)


def ticket_page(phone: FlaskClient, ticket: Opened) -> str:
    response = phone.get(f"/owner/tickets/{ticket.number}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def texts_of(template: str) -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == OWNER_PHONE,
                                                                    OutboxMessage.template == template)))


def test_the_owner_confirms_the_agreed_visit_and_the_technician_keeps_the_inspection(desk, staff, phone):
    ticket = desk.open()
    at_the_visit(desk, staff, ticket)
    inspection = desk.task_for(staff.tech, ticket, "inspect_on_site")
    assert "确认上门时间" in ticket_page(phone, ticket)

    confirmed = phone.post(f"/owner/tickets/{ticket.number}/appointment/confirm")

    assert confirmed.status_code == 302
    assert desk.task_for(staff.tech, ticket, "inspect_on_site")["id"] == inspection["id"]
    assert "您已确认此上门时间" in ticket_page(phone, ticket)
    assert phone.post(f"/owner/tickets/{ticket.number}/appointment/confirm").status_code == 409


def test_the_owner_asking_to_move_the_visit_brings_the_appointment_back_to_the_technician(desk, staff, phone):
    ticket = desk.open()
    at_the_visit(desk, staff, ticket)

    unfilled = phone.post(f"/owner/tickets/{ticket.number}/appointment/move", data={"reason": "周二出差。"})
    assert unfilled.status_code == 422 and "周二出差。" in unfilled.get_data(as_text=True)
    moved = phone.post(f"/owner/tickets/{ticket.number}/appointment/move",
                       data={"wish": "2026-03-04T14:00", "reason": "周二出差。"})

    assert moved.status_code == 302
    assert desk.open_task_names(ticket) == ["agree_appointment"]
    appointment = desk.task_data(staff.tech, desk.task_for(staff.tech, ticket, "agree_appointment"))
    assert appointment["owner_move_request"] == {"wish": "2026-03-04T14:00:00+08:00", "reason": "周二出差。"}
    assert phone.post(f"/owner/tickets/{ticket.number}/appointment/confirm").status_code == 409


def test_the_owner_refuses_a_quote_with_a_reason_then_accepts_it_and_the_repair_goes_ahead(desk, staff, phone):
    ticket = desk.open(unit=HANDED_OVER_6_YEARS_AGO, part="plumbing")  # outside the warranty: the owner pays
    at_the_visit(desk, staff, ticket, supervisor="prop_super")
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    quote = phone.get(f"/owner/tickets/{ticket.number}/quote")
    assert quote.status_code == 200 and "350.50" in quote.get_data(as_text=True)

    without_reason = phone.post(f"/owner/tickets/{ticket.number}/quote", data={"decision": "refuse", "reason": " "})
    assert without_reason.status_code == 422
    refused = phone.post(f"/owner/tickets/{ticket.number}/quote", data={"decision": "refuse", "reason": "太贵了。"})

    assert refused.status_code == 302
    assert desk.open_task_names(ticket) == ["owner_consents"]
    consent = desk.task_data(staff.tech, desk.task_for(staff.tech, ticket, "owner_consents"))
    assert (consent["owner_agrees"], consent["refusal_reason"]) == (False, "太贵了。")
    assert phone.post(f"/owner/tickets/{ticket.number}/quote",
                      data={"decision": "refuse", "reason": "还是太贵。"}).status_code == 409  # the same answer twice

    agreed = phone.post(f"/owner/tickets/{ticket.number}/quote", data={"decision": "agree", "payment_method": "mobile"})

    assert agreed.status_code == 302
    assert desk.open_task_names(ticket) == ["carry_out_repair"]
    work = desk.task_data(staff.tech, desk.task_for(staff.tech, ticket, "carry_out_repair"))
    assert (work["payment_method"], work["quote_answered_by"]) == ("mobile", "owner_remote")
    assert phone.post(f"/owner/tickets/{ticket.number}/quote",
                      data={"decision": "agree", "payment_method": "cash"}).status_code == 409


def test_the_owner_signs_the_acceptance_on_their_phone_from_the_technicians_link(app, desk, staff, phone):
    ticket = desk.open()
    at_the_acceptance(desk, staff, ticket)
    assert phone.get(f"/owner/tickets/{ticket.number}/sign").status_code == 409  # not asked for yet
    acceptance = desk.task_for(staff.tech, ticket, "owner_acceptance")
    technician = app.test_client()
    technician.post("/login", data={"username": TECHNICIAN, "password": "secret-pw-1"})

    asked = technician.post(f"/tasks/{acceptance['id']}/ask-owner-to-sign")

    assert asked.status_code == 302
    [text] = texts_of("owner_sign_link")
    link = re.search(r"/owner/tickets/\S+/sign", text)
    assert link is not None and ticket.number in text
    assert phone.get(link.group(0)).status_code == 200
    assert phone.post(link.group(0), data={"signature": ""}).status_code == 422

    signed = phone.post(link.group(0), data={"signature": SIGNATURE_PNG})

    assert signed.status_code == 302
    assert desk.open_task_names(ticket) == ["confirm_repair"]
    confirmation = desk.task_data(staff.eng_super, desk.task_for(staff.eng_super, ticket, "confirm_repair"))
    assert confirmation["signed_by"] == "owner_remote"
    assert str(confirmation["owner_signature"]).startswith("upload:")
    assert phone.post(link.group(0), data={"signature": SIGNATURE_PNG}).status_code == 409


def test_a_satisfied_rating_before_the_call_ends_the_callback_without_a_call_task(desk, staff, phone):
    ticket = desk.open()
    at_the_callback(desk, staff, ticket)
    assert desk.open_task_names(ticket) == ["call_owner"]
    [text] = texts_of("owner_rating_link")
    link = re.search(r"/owner/tickets/\S+/rate", text)
    assert link is not None

    rated = phone.post(link.group(0), data={"satisfaction": "satisfied", "comment": "师傅很细心。"})

    assert rated.status_code == 302
    assert desk.open_task_names(ticket) == ["manager_review"]
    assert desk.ticket(ticket)["satisfaction"] == "satisfied"
    assert phone.post(link.group(0), data={"satisfaction": "very_satisfied"}).status_code == 409
    desk.handle(staff.manager, ticket, "manager_review", REVIEWED)
    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["reopened"], desk.status(ticket)) == ("closed", False, "completed")


def test_a_rating_after_the_call_is_due_leaves_the_call_to_the_desk(desk, staff, phone):
    ticket = desk.open()
    at_the_callback(desk, staff, ticket)
    call = desk.task_for(staff.agent, ticket, "call_owner")
    desk.clock.set(datetime.fromisoformat(call["due_at"]) + timedelta(minutes=1))

    late = phone.post(f"/owner/tickets/{ticket.number}/rate", data={"satisfaction": "satisfied"})

    assert late.status_code == 409
    assert desk.open_task_names(ticket) == ["call_owner"]  # the desk still calls
    assert desk.ticket(ticket)["satisfaction"] is None


def test_a_dissatisfied_rating_still_brings_the_call_and_reopens_a_complaint_at_level_two(desk, staff, phone):
    ticket = desk.open()
    at_the_callback(desk, staff, ticket)

    rated = phone.post(f"/owner/tickets/{ticket.number}/rate", data={"satisfaction": "dissatisfied",
                                                                      "comment": "还在漏。"})

    assert rated.status_code == 302
    assert desk.open_task_names(ticket) == ["call_owner"]
    call = desk.task_data(staff.agent, desk.task_for(staff.agent, ticket, "call_owner"))
    assert (call["satisfaction"], call["remarks"], call["rated_by"]) == ("dissatisfied", "还在漏。", "owner")
    call_back(desk, ticket, {"reached": True, "satisfaction": "dissatisfied", "remarks": "还在漏。"})
    desk.handle(staff.manager, ticket, "manager_review", REVIEWED)
    assert desk.ticket(ticket)["reopened"] is True
    assert_reopened_as_complaint(desk, ticket)


def test_without_a_rating_the_call_comes_as_today(desk, staff, phone):
    ticket = desk.open()
    at_the_callback(desk, staff, ticket)

    assert desk.open_task_names(ticket) == ["call_owner"]
    call_back(desk, ticket)
    assert desk.open_task_names(ticket) == ["manager_review"]
    assert phone.get(f"/owner/tickets/{ticket.number}/rate").status_code == 409  # the call took the rating


@pytest.mark.parametrize("path", ["appointment/confirm", "appointment/move", "quote", "sign", "rate"])
def test_another_owners_ticket_is_a_404_for_every_answer(desk, staff, app, tmp_path, path):
    ticket = desk.open(phone="13900001111", unit=OTHER_PROJECT_UNIT, project="binjiang")  # not this owner's
    phone = signed_in_owner(app, tmp_path)

    assert phone.get(f"/owner/tickets/{ticket.number}/{path}").status_code in (404, 405)
    assert phone.post(f"/owner/tickets/{ticket.number}/{path}", data={"satisfaction": "satisfied"}).status_code == 404
    assert phone.post(f"/owner/tickets/KF-00000000-0000/{path}").status_code == 404
