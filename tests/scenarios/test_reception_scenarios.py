"""Reception (客户接待): who records the call, day and night, and where each category goes from the desk.

The engine-level paths are in tests/flows/test_reception_flow.py; here the call is recorded through
POST /tickets by the person on shift, and each next step is done by whoever's inbox shows it.
"""

from __future__ import annotations

from datetime import timedelta

from tests.scenarios.conftest import (
    NEXT_MORNING,
    NIGHT,
    SATISFIED,
    START,
    call_back,
    holder,
)


def test_a_consultation_answered_on_the_spot_is_closed_as_answered(desk, staff):
    ticket = desk.open(category="consultation", part=None, description="想问一下物业费的缴费方式。")
    assert desk.ticket(ticket)["stage"] == "consultation"

    answer = desk.handle(staff.agent, ticket, "answer_consultation",
                         {"answered_on_the_spot": True, "answer": "可在物业 App 或前台缴纳。"},
                         not_by=[staff.prop_owner, staff.tech])
    assert holder(answer) == ("cs_agent", None, None)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["department"]) == ("closed", "answered", None)
    assert (closed["closed_at"], closed["due_at"], closed["satisfaction"]) == (START.isoformat(), None, None)
    assert (closed["closed_in_time"], closed["closed_first_time"]) == (True, True)
    assert desk.status(ticket) == "completed"


def test_a_consultation_forwarded_to_a_department_gets_a_reply_deadline_a_reply_and_a_callback(desk, staff):
    ticket = desk.open(category="consultation", part=None, description="车位能不能转租？")

    desk.handle(staff.agent, ticket, "answer_consultation", {"answered_on_the_spot": False, "forward_to": "property"})

    reply = desk.task_for(staff.prop_owner, ticket, "reply_consultation")
    deadline = (START + timedelta(hours=24)).isoformat()
    assert (*holder(reply), reply["due_at"]) == ("dept_owner", "property", None, deadline)
    desk.refused(reply, staff.eng_owner, staff.agent)
    forwarded = desk.ticket(ticket)
    assert (forwarded["stage"], forwarded["department"], forwarded["due_at"]) == ("forwarded", "property", deadline)
    desk.clock.advance(timedelta(hours=3))
    desk.handle(staff.prop_owner, ticket, "reply_consultation", {"reply": "可以转租，需到物业备案。",
                                                                 "owner_contacted": True})

    call = call_back(desk, ticket, SATISFIED)  # consultations are called back at once
    assert holder(call) == ("cs_agent", None, None)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "answered", "satisfied")
    assert (closed["closed_in_time"], closed["closed_first_time"]) == (True, True)
    assert desk.status(ticket) == "completed"


def test_a_life_service_goes_to_the_service_department_and_is_called_back(desk, staff):
    ticket = desk.open(category="life_service", part=None, description="周六上午需要家政保洁。")
    assert (desk.ticket(ticket)["stage"], desk.ticket(ticket)["department"]) == ("forwarded", "service")

    arrange = desk.handle(staff.service_owner, ticket, "arrange_service", {"service_result": "已安排周六 9 点保洁。"},
                          not_by=[staff.prop_owner, staff.agent])
    assert holder(arrange) == ("dept_owner", "service", None)
    call_back(desk, ticket, SATISFIED)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "resolved", "satisfied")
    assert closed["department"] == "service"
    assert desk.status(ticket) == "completed"


def test_a_night_call_is_recorded_by_night_security_and_handed_to_the_morning_shift_at_eight(desk, staff):
    desk.clock.set(NIGHT)  # Monday 22:00 in Shanghai

    ticket = desk.open(by=staff.night, part="roof_waterproof", description="顶层卧室天花板有水渍。")

    held = desk.ticket(ticket)
    assert (held["stage"], held["received_at"]) == ("night_hold", NIGHT.isoformat())
    assert (desk.status(ticket), desk.instance(ticket)["tasks"]) == ("waiting", [])
    assert desk.instance(ticket)["next_timer_at"] == NEXT_MORNING.isoformat()
    desk.clock.set(NEXT_MORNING - timedelta(minutes=1))
    assert desk.wait(timedelta(0), ticket) == []  # 07:59: still held

    assert desk.wait(timedelta(minutes=1, seconds=1), ticket) == ["morning_handover"]

    handover = desk.handle(staff.agent, ticket, "morning_handover", {"record_confirmed": True},
                           not_by=[staff.night, staff.eng_super])
    assert holder(handover) == ("cs_agent", None, None)
    assert holder(desk.task_for(staff.eng_super, ticket, "dispatch_technician")) == (
        "eng_supervisor", "engineering", None)
    dispatched = desk.ticket(ticket)
    assert (dispatched["stage"], dispatched["department"]) == ("dispatch", "engineering")
    assert dispatched["due_at"] == (NIGHT + timedelta(hours=72)).isoformat()  # counted from the call
    assert desk.status(ticket) == "running"


def test_a_night_emergency_is_dispatched_at_once(desk, staff):
    desk.clock.set(NIGHT)

    ticket = desk.open(by=staff.night, part="plumbing", urgency="urgent", emergency=True,
                       description="楼上跑水，客厅天花板在滴水。")

    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")  # plumbing after 2 years: property
    assert holder(dispatch) == ("eng_supervisor", "property", None)
    assert dispatch["due_at"] == (NIGHT + timedelta(hours=4)).isoformat()  # an emergency: 4 hours
    desk.refused(dispatch, staff.night, staff.eng_super)
    dispatched = desk.ticket(ticket)
    assert (dispatched["stage"], dispatched["department"]) == ("dispatch", "property")
    assert dispatched["due_at"] == (NIGHT + timedelta(hours=4)).isoformat()
    assert desk.status(ticket) == "running"
