"""Least privilege through the API: who may record a repeated call, what it grants, who sees full phones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.jobs import OutboxMessage
from app.services.people.users import get_person, update_person
from tests.console_client import Browser
from tests.scenarios.conftest import (
    ACCEPTED,
    APPOINTMENT,
    DISPATCH,
    INSPECTION,
    NIGHT,
    OWNER_PHONE,
    REPAIR_DONE,
    VALID_LEAK,
    Desk,
)
from tests.scenarios.test_complaint_scenarios import complaint
from tests.scenarios.test_deadline_scenarios import bell

MASKED = OWNER_PHONE[:3] + "****" + OWNER_PHONE[-4:]


def full_phone_views(desk: Desk, number: str, username: str) -> int:
    """How many full-phone views of the ticket by ``username`` the admin's access log lists."""
    admin = Browser(desk.app.test_client())
    admin.log_in("root")
    page = admin.get("/admin/access-log", query_string={"ticket": number, "username": username,
                                                         "action": "view_phone"}).get_data(as_text=True)
    return page.count('data-action="view_phone"')


@pytest.fixture
def root(api_as):
    return api_as("root", "admin")


def test_a_technician_may_not_record_a_repeated_call(desk):
    opened = desk.open()
    refused = desk.staff.tech.post(f"/tickets/{opened.number}/calls", json={"data": {"caller_name": "王太太"}})
    assert refused.status_code == 403
    assert desk.ticket(opened)["attached_calls"] == 0


@pytest.mark.parametrize(("call", "field"), [
    ({"description": "x" * (7 * 1024 * 1024)}, "description"),
    ({"caller_name": {"name": "王太太"}}, "caller_name"),
    ({"phone": "not-a-phone"}, "phone"),
])
def test_a_repeated_call_is_checked_like_a_new_one(desk, call, field):
    opened = desk.open()
    refused = desk.staff.agent.post(f"/tickets/{opened.number}/calls", json={"data": call})
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == [field]
    assert desk.ticket(opened)["attached_calls"] == 0


def test_recording_a_repeated_call_grants_no_reading_of_the_ticket(desk):
    opened = desk.open()
    night = desk.staff.night
    attached = night.post(f"/tickets/{opened.number}/calls", json={"data": {"caller_name": "王太太"}})
    assert attached.status_code == 200
    assert attached.json["attached_calls"] == 1
    assert attached.json["phone"] == MASKED
    assert night.get(f"/instances/{opened.instance_id}").status_code == 403
    assert night.get(f"/tickets/{opened.number}").json["phone"] == MASKED


@pytest.mark.parametrize("reader", ["tech", "eng_owner"])
def test_the_api_masks_the_phone_for_people_not_working_on_the_ticket(desk, reader):
    opened = desk.open()
    assert getattr(desk.staff, reader).get(f"/tickets/{opened.number}").json["phone"] == MASKED


def test_a_designer_reads_the_phone_masked(desk, api_as):
    opened = desk.open()
    assert api_as("designer", "designer").get(f"/tickets/{opened.number}").json["phone"] == MASKED


def test_a_full_phone_in_the_api_is_logged_and_a_masked_one_is_not(desk, root):
    opened = desk.open()
    assert desk.staff.supervisor.get(f"/tickets/{opened.number}").json["phone"] == OWNER_PHONE
    desk.staff.tech.get(f"/tickets/{opened.number}")
    assert full_phone_views(desk, opened.number, "supervisor") == 1
    assert full_phone_views(desk, opened.number, "tech") == 0


def limited_to(api, project: str, *, phone: str = ""):
    """The person's projects limited to ``project`` (and their mobile), as the admin's people page sets them."""
    user_id = db.session.scalars(select(User.id).where(User.username == api.user.username)).one()
    person = get_person(user_id)
    update_person(user_id, display_name=person.display_name, roles=person.roles, departments=[],
                  projects=[project], phone=phone)
    return api


def texts_to(phone: str) -> list[str]:
    db.session.remove()
    return list(db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == phone)))


def test_a_manager_limited_to_another_project_gets_no_escalation_notice_of_this_one(desk, staff, api_as):
    lanting_manager = limited_to(api_as("lanting_manager", "property_manager"), "lanting")
    binjiang_manager = limited_to(api_as("binjiang_manager", "property_manager"), "binjiang")
    binjiang_supervisor = limited_to(api_as("binjiang_supervisor", "cs_supervisor"), "binjiang")
    ticket = complaint(desk, complaint_type="safety")  # a lanting ticket
    desk.handle(staff.agent, ticket, "judge_validity", {**VALID_LEAK, "complaint_type": "safety"})
    desk.wait(timedelta(days=3), ticket)
    assert desk.ticket(ticket)["escalation_level"] == 3
    assert bell(lanting_manager) == (1, [("escalated", ticket.number, 3)])
    assert bell(staff.manager) == (1, [("escalated", ticket.number, 3)])  # limited to no project: sees all
    assert bell(staff.supervisor)[1] == [("escalated", ticket.number, 2)]
    assert bell(binjiang_manager) == (0, [])
    assert bell(binjiang_supervisor) == (0, [])


def test_an_upload_is_served_only_to_people_who_may_see_its_ticket(desk, staff, api_as, root, tmp_path):
    desk.app.config["UPLOAD_DIR"] = tmp_path
    signature = "0123456789abcdef0123456789abcdef.png"
    (tmp_path / signature).write_bytes(b"\x89PNG signature")
    (tmp_path / "fedcba9876543210fedcba9876543210.png").write_bytes(b"\x89PNG belongs to nothing")
    opened = desk.open()
    desk.handle(staff.eng_super, opened, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, opened, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, opened, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, opened, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, opened, "owner_acceptance", {**ACCEPTED, "owner_signature": f"upload:{signature}"})
    limited_to(api_as("binjiang_agent", "cs_agent"), "binjiang")
    limited_to(api_as("lanting_agent", "cs_agent"), "lanting")

    def opens(username: str, name: str) -> int:
        browser = Browser(desk.app.test_client())
        browser.log_in(username)
        with browser.get(f"/uploads/{name}") as response:
            return response.status_code

    assert opens("tech", signature) == 200
    assert opens("lanting_agent", signature) == 200
    assert opens("binjiang_agent", signature) == 404
    assert opens("root", "fedcba9876543210fedcba9876543210.png") == 404  # on no ticket: nobody's
    assert opens("tech", "..%2F..%2Fsetup.cfg") == 404


def test_a_supervisor_limited_to_another_project_gets_no_notice_or_text_of_a_night_emergency(desk, staff, api_as):
    limited_to(staff.supervisor, "lanting", phone="13900000001")
    elsewhere = limited_to(api_as("binjiang_supervisor", "cs_supervisor"), "binjiang", phone="13900000002")
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night, emergency=True, urgency="urgent", part="plumbing",
                       description="楼上水管爆裂，水漫到客厅。")
    assert bell(staff.supervisor) == (1, [("night_emergency", ticket.number, None)])
    assert len(texts_to("13900000001")) == 1
    assert bell(elsewhere) == (0, [])
    assert texts_to("13900000002") == []
