"""Scenarios: reception's rules (issue 11) through the JSON API as the role users.

- one way to start a ticket: the generic start of a ticket process opens a ticket exactly as
  POST /tickets does, and a process that runs only inside a ticket is refused with a pointer to it;
- a night emergency alerts a person at once (the engineer on call and the CS supervisors);
- owners' texts go only to mobile numbers; a landline gets "电话告知业主 / Phone the owner" instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.jobs import OutboxMessage
from app.services.people.auth import principal_for_user
from app.services.settings import change_setting
from tests.console_client import Browser
from tests.scenarios.conftest import (
    NIGHT,
    OWNER_PHONE,
    SHIPPED,
    Opened,
    call_back,
    intake,
    repair_until_confirmation,
)
from tests.support.fixtures import START

LANDLINE = "0571-88886666"
ON_CALL_PHONE = "13700000001"
SUPERVISOR_PHONE = "13700000002"


def acknowledgement(number):
    """The text (or the call) that tells the owner the repair call is recorded."""
    return f"您的报修已受理，工单号 {number}。我们将按时处理，如有疑问请致电客服中心。"


def texts_to(phone):
    db.session.remove()
    return [message.body for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id))]


def every_text_recipient():
    db.session.remove()
    return set(db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.channel == "sms")))


def bell(user):
    return [(item["kind"], item["params"].get("number")) for item in user.get("/notifications").json["items"]]


def task_data_of(desk, opened, user):
    """The data of the ticket's one open task, as ``user`` who may do it reads it (GET /tasks/<id>)."""
    [task] = desk.instance(opened)["tasks"]
    return desk.task_data(user, task)


def phone_tasks(agent):
    items = agent.get("/tasks", query_string={"scope": "group", "limit": 200}).json["items"]
    return [task for task in items if task["name"] == "phone_the_owner"]


# ---- one way to start a ticket -------------------------------------------------------------------------

def test_the_generic_start_of_reception_opens_a_ticket_as_the_ticket_route_does(desk, staff):
    response = staff.agent.start("reception", intake(unit="5栋外墙", part="exterior_wall"))
    assert response.status_code == 201, response.json
    number = response.json["ticket"]["number"]
    assert number.startswith("KF-20260302-")
    opened = Opened(number, response.json["id"])

    # The system data is there, so the repair behind it runs: the common part waits for dispatch.
    data = task_data_of(desk, opened, staff.prop_super)
    assert data["ticket_number"] == number
    assert data["reported_at"] == START.isoformat()
    assert data["common_area"] is True and data["reopened_from"] is None
    assert response.json["status"] == "running"
    assert desk.open_task_names(opened) == ["dispatch_technician"]
    assert desk.ticket(opened)["unit"] == "5栋外墙"
    assert texts_to(OWNER_PHONE) == [f"【客服中心】{acknowledgement(number)}"]


TICKET_READER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_{pid}"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{pid}" name="热线 / Hotline" isExecutable="true">
    <bpmn:laneSet id="LaneSet_{pid}">
      <bpmn:lane id="lane_cs_agent" name="cs_agent">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>note</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>look</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start">{form}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="note" name="记下 / Note"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>heard_at = reported_at</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="look" name="看看 / Look"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="note" />
    <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="look" />
    <bpmn:sequenceFlow id="f3" sourceRef="look" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
INTAKE_FORM = """<bpmn:extensionElements><spiffworkflow:properties>
  <spiffworkflow:property name="formJsonSchemaFilename" value="reception_intake.json" />
</spiffworkflow:properties></bpmn:extensionElements>"""


def test_any_process_that_reads_ticket_data_is_a_ticket_process_not_just_reception(desk, staff, deploy):
    deploy({"hotline.bpmn": TICKET_READER.format(pid="hotline", form=INTAKE_FORM).encode(),
            "ticket_reader.bpmn": TICKET_READER.format(pid="ticket_reader", form="").encode(),
            "reception_intake.json": SHIPPED["reception_intake.json"]})

    # Its start form records a call: the generic start opens a ticket, with the ticket's system data.
    response = staff.agent.start("hotline", intake())
    assert response.status_code == 201, response.json
    opened = Opened(response.json["ticket"]["number"], response.json["id"])
    assert task_data_of(desk, opened, staff.agent)["heard_at"] == START.isoformat()
    assert desk.ticket(opened)["number"] == opened.number

    # No start form for a call: it could only run inside a ticket, and is refused.
    refused = staff.agent.start("ticket_reader", {})
    assert refused.status_code == 409, refused.json
    assert "/api/v1/tickets" in refused.json["message"]


# ---- a night emergency alerts a person at once ----------------------------------------------------------

@pytest.fixture
def admin(app, api_as):
    """An admin at a browser, on the people pages."""
    api_as("boss", "admin")
    browser = Browser(app.test_client())
    assert browser.log_in("boss").status_code == 302
    return browser


def set_phone(admin, user, phone):
    """The admin types ``phone`` on the person's page and saves; the response."""
    person = db.session.scalars(select(User).where(User.username == user.user.username)).one()
    assert admin.get(f"/admin/people/{person.id}").status_code == 200
    return admin.post(f"/admin/people/{person.id}", {"display_name": person.display_name,
                                                     "roles": sorted(person.role_keys),
                                                     "departments": sorted(person.department_keys), "phone": phone})


def put_on_call(app, username):
    actor = principal_for_user(db.session.scalars(select(User.id).where(User.username == "boss")).one())
    change_setting("engineer_on_call", username, user=actor, clock=app.extensions["kefu"].clock)


@pytest.fixture
def on_call(app, staff, admin):
    """The technician is the engineer on call (setting engineer_on_call); the admin typed their mobile and the
    CS supervisor's on the people pages."""
    assert set_phone(admin, staff.tech, ON_CALL_PHONE).status_code == 302
    assert set_phone(admin, staff.supervisor, SUPERVISOR_PHONE).status_code == 302
    put_on_call(app, staff.tech.user.username)
    return staff.tech


def _user_id(api):
    return db.session.scalars(select(User.id).where(User.username == api.user.username)).one()


def night_alert(desk, ticket):
    [alert] = [event for event in desk.instance(ticket)["events"] if event["action"] == "night_emergency_alert"]
    return alert["data"]


def test_a_night_emergency_alerts_the_engineer_on_call_and_the_supervisor_at_once(desk, staff, on_call):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night, emergency=True, urgency="urgent", part="plumbing",
                       description="楼上水管爆裂，水漫到客厅。")

    assert bell(on_call) == [("night_emergency", ticket.number)]
    assert bell(staff.supervisor) == [("night_emergency", ticket.number)]
    assert bell(staff.agent) == []
    for phone in (ON_CALL_PHONE, SUPERVISOR_PHONE):
        [text] = texts_to(phone)
        assert ticket.number in text and "楼上水管爆裂" in text and OWNER_PHONE in text
    # Dispatched at once, and the timeline says who was told.
    assert desk.open_task_names(ticket) == ["dispatch_technician"]
    alert = night_alert(desk, ticket)
    assert alert["notified"] == ["tech", "supervisor"]
    assert alert["texted"] == ["tech", "supervisor"] and alert["not_texted"] == []


def test_an_admin_types_a_technicians_mobile_and_a_bad_one_is_marked_and_kept(app, staff, admin):
    refused = set_phone(admin, staff.tech, "0571-8888666")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="error-phone"' in page and "11 位手机号" in page
    assert 'value="0571-8888666"' in page
    assert _phone_of("tech") is None

    assert set_phone(admin, staff.tech, "+86 137-0000-0001").status_code == 302
    assert _phone_of("tech") == "+8613700000001"
    person = admin.get(f"/admin/people/{_user_id(staff.tech)}").get_data(as_text=True)
    assert 'value="+8613700000001"' in person
    # The list masks it, as every list masks phone numbers.
    assert set_phone(admin, staff.tech, ON_CALL_PHONE).status_code == 302
    listed = admin.get("/admin/people").get_data(as_text=True)
    assert "137****0001" in listed and ON_CALL_PHONE not in listed

    # Emptied again: the person has no mobile.
    assert set_phone(admin, staff.tech, "").status_code == 302
    assert _phone_of("tech") is None


def test_the_engineer_on_call_is_texted_at_the_mobile_the_admin_typed(app, desk, staff, admin):
    assert set_phone(admin, staff.tech, "13912345678").status_code == 302
    put_on_call(app, "tech")
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night, emergency=True, urgency="urgent", part="plumbing", description="水管爆裂。")
    [text] = texts_to("13912345678")
    assert ticket.number in text and "水管爆裂" in text
    # The supervisor has no mobile: told in the app, and the timeline says no text could be sent.
    assert bell(staff.supervisor) == [("night_emergency", ticket.number)]
    alert = night_alert(desk, ticket)
    assert alert["texted"] == ["tech"] and alert["not_texted"] == ["supervisor"]
    assert every_text_recipient() - {OWNER_PHONE} == {"13912345678"}


def test_a_staff_mobile_shows_on_admin_pages_only(app, desk, staff, on_call):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night, emergency=True, urgency="urgent", part="plumbing", description="水管爆裂。")
    [dispatch] = desk.instance(ticket)["tasks"]
    seen = [staff.eng_super.get(f"/tasks/{dispatch['id']}").get_data(as_text=True),
            staff.supervisor.get(f"/instances/{ticket.instance_id}").get_data(as_text=True)]
    console = Browser(app.test_client())
    assert console.log_in("eng_super").status_code == 302
    seen += [console.get(f"/tasks/{dispatch['id']}").get_data(as_text=True),
             console.get(f"/tickets/{ticket.number}").get_data(as_text=True)]
    assert not any(ON_CALL_PHONE in text or SUPERVISOR_PHONE in text for text in seen)
    assert "夜间紧急提醒" in seen[-1]  # the ticket's timeline names the alert


def _phone_of(username):
    db.session.expire_all()
    return db.session.scalars(select(User.phone).where(User.username == username)).one()


def test_without_an_engineer_on_call_the_supervisor_is_still_alerted(desk, staff):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night, emergency=True, urgency="urgent", part="electrical",
                       description="整栋楼停电。")
    assert bell(staff.supervisor) == [("night_emergency", ticket.number)]
    alert = night_alert(desk, ticket)
    assert alert["engineer_on_call"] is None
    assert alert["texted"] == [] and alert["not_texted"] == ["supervisor"]  # the supervisor has no mobile


def test_a_night_call_that_is_no_emergency_and_a_day_emergency_alert_nobody(desk, staff, on_call):
    desk.clock.set(NIGHT)
    desk.open(by=staff.night, description="楼道灯不亮。")
    desk.clock.set(START + timedelta(days=1))
    desk.open(emergency=True, urgency="urgent", description="电梯困人。")
    assert bell(on_call) == [] and bell(staff.supervisor) == []
    assert texts_to(ON_CALL_PHONE) == []


def test_a_night_emergency_complaint_goes_to_night_security_at_once(desk, staff):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night, emergency=True, urgency="urgent", category="complaint", part=None,
                       complaint_type="safety", description="地库消防门被锁。")
    [task] = desk.instance(ticket)["tasks"]
    assert (task["name"], task["role"]) == ("judge_validity_night", "night_security")
    data = desk.task_data(staff.night, task)
    assert data["shift"] == "night" and data["night_emergency"] is True
    assert bell(staff.supervisor) == [("night_emergency", ticket.number)]


# ---- texts go only to mobile numbers ------------------------------------------------------------------

def test_an_owner_with_a_landline_gets_a_call_task_instead_of_a_text(desk, staff):
    ticket = desk.open(phone=LANDLINE)
    assert LANDLINE not in every_text_recipient()

    [task] = phone_tasks(staff.agent)
    assert task["role"] == "cs_agent" and task["title"] == "电话告知业主 / Phone the owner"
    # Due within 4 office hours: recorded Monday 09:00, due 13:00 the same day (Shanghai).
    assert datetime.fromisoformat(task["due_at"]) == START + timedelta(hours=4)
    data = desk.task_data(staff.agent, task)
    assert data["owner_phone"] == LANDLINE and data["about_ticket"] == ticket.number
    assert data["owner_message"] == acknowledgement(ticket.number)
    assert staff.night.complete(task["id"], {"reached": True}).status_code == 403
    assert staff.agent.complete(task["id"], {}).status_code == 422  # reached is required
    done = staff.agent.complete(task["id"], {"reached": True, "call_note": "已告知。"})
    assert done.status_code == 200, done.json
    assert phone_tasks(staff.agent) == []
    [event] = [event for event in desk.instance(ticket)["events"] if event["action"] == "owner_phone_task"]
    assert event["data"]["message"] == data["owner_message"]


def test_every_owner_text_to_a_landline_becomes_a_call_from_the_call_to_the_callback(desk, staff):
    ticket = desk.open(phone=LANDLINE)
    repair_until_confirmation(desk, ticket, staff.eng_super)
    call_back(desk, ticket)

    messages = [desk.task_data(staff.agent, task)["owner_message"] for task in phone_tasks(staff.agent)]
    assert sorted(messages) == sorted([
        acknowledgement(ticket.number),
        f"工单 {ticket.number}：已与您约定 03月03日 09:00 上门，届时请留人在家。",
        f"工单 {ticket.number} 已处理完成，我们将回访了解您的意见。",
        f"感谢您接受工单 {ticket.number} 的回访，您的意见我们已记录。",
    ])
    assert LANDLINE not in every_text_recipient()


@pytest.mark.parametrize("mobile", ["13912345678", "19912345678"])
def test_a_mobile_number_gets_the_text_and_no_call(desk, staff, mobile):
    ticket = desk.open(phone=mobile)
    assert texts_to(mobile) == [f"【客服中心】{acknowledgement(ticket.number)}"]
    assert phone_tasks(staff.agent) == []


@pytest.mark.parametrize("number", ["0571-88886666", "88886666", "057188886666", "0571-88886666-123"])
def test_a_number_that_is_not_a_mobile_never_gets_a_text(desk, staff, number):
    desk.open(phone=number)
    assert texts_to(number) == []
    assert len(phone_tasks(staff.agent)) == 1


def test_the_supervisor_reads_the_night_emergency_on_the_console_in_chinese(app, desk, staff):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night, emergency=True, urgency="urgent", part="plumbing",
                       description="楼上水管爆裂，水漫到客厅。")
    browser = Browser(app.test_client())
    browser.log_in("supervisor")

    page = browser.get("/notifications").get_data(as_text=True)

    assert f"夜间紧急：{ticket.number}" in page
    assert "3栋-1202：楼上水管爆裂，水漫到客厅。" in page and "请立即处理" in page


@pytest.mark.parametrize("phone", ["17೧᥌໓೭౯႒𑋵෩𝟫", "1３８００１３８０００", "138٠٠١٣٨٠٠٠"])
def test_a_phone_in_other_scripts_digits_is_refused_on_its_field(desk, staff, phone):
    # Form patterns are ECMA-262 (\d is 0-9): a number the SMS gateway cannot dial never becomes the owner's phone.
    refused = staff.agent.post("/tickets", json={"data": intake(phone=phone)})
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["phone"]
