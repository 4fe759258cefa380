"""Repair work orders (维修工单) as the staff live them: from the recorded call to the manager's review.

The engine-level paths are in tests/flows/test_repair_flow.py; here every step goes through the API,
by the person whose inbox shows it, and the ticket is read back after the steps that change it.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta

from tests.console_client import Browser
from tests.scenarios.conftest import (
    ACCEPTED,
    APPOINTMENT,
    COMMON_AREA,
    CONFIRMED,
    DISPATCH,
    HANDED_OVER_2_YEARS_AGO,
    HANDED_OVER_6_YEARS_AGO,
    INSPECTION,
    REPAIR_DONE,
    REVIEWED,
    START,
    TECHNICIAN,
    call_back,
    holder,
    repair_until_confirmation,
)

HOURS_72 = timedelta(hours=72)  # a normal repair's time limit (repair_time_limits.dmn)


def test_a_repair_inside_the_warranty_is_done_by_engineering_free_of_charge_and_closed_on_time(desk, staff):
    ticket = desk.open(unit=HANDED_OVER_2_YEARS_AGO, part="roof_waterproof")  # roofs: 5 years

    recorded = desk.ticket(ticket)
    assert (recorded["stage"], recorded["department"], recorded["escalation_level"]) == ("dispatch", "engineering", 0)
    assert recorded["due_at"] == (START + HOURS_72).isoformat()

    dispatch = desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH,
                           not_by=[staff.prop_super, staff.agent, staff.tech])
    assert holder(dispatch) == ("eng_supervisor", "engineering", None)
    assert dispatch["due_at"] == (START + HOURS_72).isoformat()
    order = desk.task_data(staff.tech, desk.task_for(staff.tech, ticket, "agree_appointment"))
    assert (order["in_warranty"], order["paid_by"]) == (True, "free")
    assert desk.ticket(ticket)["stage"] == "appointment"

    appointment = desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT,
                              not_by=[staff.other_tech, staff.eng_super])
    assert holder(appointment) == ("technician", None, TECHNICIAN)
    assert desk.ticket(ticket)["stage"] == "inspection"
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION, not_by=[staff.other_tech])
    assert desk.open_task_names(ticket) == ["carry_out_repair"]  # free: no quote for the owner to agree to
    assert desk.ticket(ticket)["stage"] == "repair"
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE, not_by=[staff.other_tech])
    assert desk.ticket(ticket)["stage"] == "acceptance"
    desk.handle(staff.tech, ticket, "owner_acceptance", ACCEPTED, not_by=[staff.other_tech])
    confirmation = desk.handle(staff.eng_super, ticket, "confirm_repair", CONFIRMED,
                               not_by=[staff.prop_super, staff.tech])
    assert holder(confirmation) == ("eng_supervisor", "engineering", None)

    # The callback is the agent's at once, due within 24 h (seed: "24 小时内回访").
    assert (desk.status(ticket), desk.ticket(ticket)["stage"]) == ("running", "callback")
    assert desk.open_task_names(ticket) == ["call_owner"]
    desk.clock.advance(timedelta(hours=3))
    call = call_back(desk, ticket)
    assert holder(call) == ("cs_agent", None, None)
    assert desk.ticket(ticket)["stage"] == "review"

    review = desk.handle(staff.manager, ticket, "manager_review", REVIEWED, not_by=[staff.supervisor, staff.eng_super])
    assert holder(review) == ("property_manager", None, None)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "resolved", "satisfied")
    assert (closed["department"], closed["rework_count"], closed["escalation_level"]) == ("engineering", 0, 0)
    assert closed["closed_at"] == desk.clock.now().isoformat()
    assert (closed["closed_in_time"], closed["closed_first_time"], closed["repeat_repair"]) == (True, True, False)
    assert desk.status(ticket) == "completed"


def test_outside_the_warranty_the_owner_refuses_the_quote_and_the_order_is_cancelled_with_the_reason(desk, staff):
    ticket = desk.open(unit=HANDED_OVER_6_YEARS_AGO, part="plumbing")  # plumbing: 2 years

    assert (desk.ticket(ticket)["department"], desk.ticket(ticket)["stage"]) == ("property", "dispatch")
    dispatch = desk.handle(staff.prop_super, ticket, "dispatch_technician", DISPATCH,
                           not_by=[staff.eng_super, staff.agent])
    assert holder(dispatch) == ("eng_supervisor", "property", None)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)

    consent = desk.task_for(staff.tech, ticket, "owner_consents")
    assert holder(consent) == ("technician", None, TECHNICIAN)
    quote = desk.task_data(staff.tech, consent)
    assert (quote["paid_by"], quote["quote_labour"], quote["quote_material"]) == ("owner", 200.0, 150.5)
    assert staff.tech.complete(consent["id"], {"owner_agrees": False}).json["errors"] == {
        "refusal_reason": "必填"}
    desk.handle(staff.tech, ticket, "owner_consents", {"owner_agrees": False, "refusal_reason": "报价太高。"},
                not_by=[staff.other_tech, staff.prop_super])

    cancelled = desk.ticket(ticket)
    assert (cancelled["stage"], cancelled["outcome"], cancelled["satisfaction"]) == ("closed", "cancelled", None)
    assert cancelled["closed_at"] == START.isoformat()
    assert desk.status(ticket) == "completed"
    assert desk.instance(ticket)["tasks"] == []  # no callback for a cancelled order
    refusal = [event for event in desk.instance(ticket)["events"] if event["action"] == "complete"][-1]
    assert (refusal["actor"], refusal["data"]["refusal_reason"]) == (TECHNICIAN, "报价太高。")


def test_an_acceptance_the_owner_refuses_sends_the_repair_back_and_counts_one_rework(desk, staff):
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)

    desk.handle(staff.tech, ticket, "owner_acceptance", {"owner_accepts": False, "refusal_reason": "还在渗水。"})

    reworked = desk.ticket(ticket)
    assert (reworked["stage"], reworked["rework_count"]) == ("repair", 1)
    assert holder(desk.task_for(staff.tech, ticket, "carry_out_repair")) == ("technician", None, TECHNICIAN)
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, ticket, "owner_acceptance", ACCEPTED)
    desk.handle(staff.eng_super, ticket, "confirm_repair", CONFIRMED)
    call_back(desk, ticket)
    desk.handle(staff.manager, ticket, "manager_review", REVIEWED)

    closed = desk.ticket(ticket)
    assert (closed["outcome"], closed["rework_count"]) == ("resolved", 1)
    assert (closed["closed_in_time"], closed["closed_first_time"]) == (True, False)  # reworked: not first time
    assert desk.status(ticket) == "completed"


def test_a_major_repair_of_a_common_part_outside_the_warranty_is_paid_from_the_maintenance_fund(desk, staff):
    ticket = desk.open(unit=COMMON_AREA, part="exterior_wall", major_repair=True, caller_name="保安队长",
                       description="5 栋外墙大面积空鼓脱落。")

    assert desk.ticket(ticket)["department"] == "property"
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    order = desk.task_data(staff.prop_super, dispatch)
    assert (order["in_warranty"], order["paid_by"], order["common_area"]) == (False, "maintenance_fund", True)
    desk.refused(dispatch, staff.eng_super)
    desk.handle(staff.prop_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    assert desk.open_task_names(ticket) == ["carry_out_repair"]  # no owner's quote to agree to

    desk.handle(staff.tech, ticket, "carry_out_repair", {**REPAIR_DONE, "maintenance_fund_amount": 350.5})
    acceptance = desk.task_data(staff.tech, desk.task_for(staff.tech, ticket, "owner_acceptance"))
    assert (acceptance["paid_by"], acceptance["maintenance_fund_amount"]) == ("maintenance_fund", 350.5)
    desk.handle(staff.tech, ticket, "owner_acceptance", ACCEPTED)
    desk.handle(staff.prop_super, ticket, "confirm_repair", CONFIRMED, not_by=[staff.eng_super])
    call_back(desk, ticket)
    desk.handle(staff.manager, ticket, "manager_review", REVIEWED)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["department"]) == ("closed", "resolved", "property")
    assert desk.status(ticket) == "completed"


def test_waiting_for_parts_stops_the_clock_and_the_deadline_moves_by_the_time_paused(desk, staff):
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    desk.clock.advance(timedelta(hours=2))

    desk.handle(staff.tech, ticket, "carry_out_repair", {"waiting_for_parts": True, "parts_note": "缺专用卷材。",
                                                         "parts_expected_at": (START + timedelta(days=2)).isoformat()})

    parts = desk.task_for(staff.tech, ticket, "parts_arrived")
    assert holder(parts) == ("technician", None, TECHNICIAN)
    desk.refused(parts, staff.other_tech)
    assert desk.instance(ticket)["next_timer_at"] is None  # no deadline runs while waiting
    assert desk.ticket(ticket)["due_at"] == (START + HOURS_72).isoformat()
    assert desk.wait(timedelta(hours=30, minutes=30), ticket) == ["parts_arrived"]

    desk.handle(staff.tech, ticket, "parts_arrived", {"parts_arrival_note": "卷材已到。"})

    moved = START + HOURS_72 + timedelta(hours=30, minutes=30)
    assert desk.open_task_names(ticket) == ["carry_out_repair"]  # straight back to the repair
    assert desk.ticket(ticket)["due_at"] == moved.isoformat()
    assert datetime.fromisoformat(desk.instance(ticket)["next_timer_at"]) == moved
    assert (desk.ticket(ticket)["stage"], desk.ticket(ticket)["escalation_level"]) == ("repair", 0)
    desk.clock.advance(timedelta(hours=42))  # 74.5 h after the call: late, but for the pause
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, ticket, "owner_acceptance", ACCEPTED)
    desk.handle(staff.eng_super, ticket, "confirm_repair", CONFIRMED)
    call_back(desk, ticket)
    desk.handle(staff.manager, ticket, "manager_review", REVIEWED)

    closed = desk.ticket(ticket)
    assert closed["due_at"] == moved.isoformat()
    assert START + HOURS_72 < datetime.fromisoformat(closed["closed_at"]) < moved  # late without the pause
    assert (closed["outcome"], closed["closed_in_time"], closed["escalation_level"]) == ("resolved", True, 0)


def test_an_appointment_the_owner_reschedules_brings_the_visit_back_to_the_same_technician(desk, staff):
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)

    desk.handle(staff.tech, ticket, "inspect_on_site", {"reschedule": True, "owner_withdraws": False,
                                                         "waiting_for_parts": False,
                                                         "appointment_at": "2026-03-04T14:00:00+08:00"})

    visit = desk.task_for(staff.tech, ticket, "inspect_on_site")
    assert holder(visit) == ("technician", None, TECHNICIAN)
    desk.refused(visit, staff.other_tech)
    assert desk.task_data(staff.tech, visit)["appointment_at"] == "2026-03-04T14:00:00+08:00"
    assert desk.ticket(ticket)["stage"] == "inspection"
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    assert desk.open_task_names(ticket) == ["carry_out_repair"]
    assert desk.status(ticket) == "running"


def test_the_owner_withdrawing_at_the_visit_closes_the_order_as_withdrawn_without_a_callback(desk, staff):
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.clock.advance(timedelta(hours=5))

    desk.handle(staff.tech, ticket, "inspect_on_site", {"reschedule": False, "owner_withdraws": True,
                                                         "waiting_for_parts": False,
                                                         "withdrawal_reason": "业主已自行修好。"})

    withdrawn = desk.ticket(ticket)
    assert (withdrawn["stage"], withdrawn["outcome"], withdrawn["satisfaction"]) == ("closed", "withdrawn", None)
    assert withdrawn["closed_at"] == desk.clock.now().isoformat()
    assert desk.status(ticket) == "completed"
    assert desk.instance(ticket)["tasks"] == []


def test_a_missed_repair_deadline_brings_in_the_engineering_supervisor_at_level_two(desk, staff):
    ticket = desk.open(urgency="urgent")  # 24 hours
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    assert desk.wait(timedelta(hours=23, minutes=59), ticket) == ["agree_appointment"]

    assert desk.wait(2 * timedelta(minutes=1), ticket) == ["agree_appointment", "eng_supervisor_follow_up"]

    follow_up = desk.task_for(staff.eng_super, ticket, "eng_supervisor_follow_up")
    assert holder(follow_up) == ("eng_supervisor", "engineering", None)
    desk.refused(follow_up, staff.prop_super, staff.supervisor)
    escalated = desk.ticket(ticket)
    assert (escalated["escalation_level"], escalated["stage"]) == (2, "appointment")
    desk.handle(staff.eng_super, ticket, "eng_supervisor_follow_up", {"follow_up_note": "已催维修人员今天上门。"})
    repair_done_from_appointment(desk, ticket, {"appointment_at": "2026-03-03T14:00:00+08:00"})  # still ahead

    closed = desk.ticket(ticket)
    assert (closed["outcome"], closed["escalation_level"], closed["closed_in_time"]) == ("resolved", 2, False)


def repair_done_from_appointment(desk, ticket, appointment=APPOINTMENT) -> None:
    repair_until_confirmation_from_appointment(desk, ticket, appointment)
    call_back(desk, ticket)
    desk.handle(desk.staff.manager, ticket, "manager_review", REVIEWED)


def repair_until_confirmation_from_appointment(desk, ticket, appointment=APPOINTMENT) -> None:
    staff = desk.staff
    desk.handle(staff.tech, ticket, "agree_appointment", appointment)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, ticket, "owner_acceptance", ACCEPTED)
    desk.handle(staff.eng_super, ticket, "confirm_repair", CONFIRMED)


def test_the_shared_walk_reaches_the_callback(desk, staff):
    """repair_until_confirmation (used by the callback and ticket scenarios) leaves the order at its callback."""
    ticket = desk.open()
    repair_until_confirmation(desk, ticket, staff.eng_super)
    assert (desk.status(ticket), desk.ticket(ticket)["stage"]) == ("running", "callback")
    assert desk.open_task_names(ticket) == ["call_owner"]


def test_an_urgent_repair_done_within_its_24_hours_counts_as_in_time_though_the_callback_comes_later(desk, staff):
    ticket = desk.open(urgency="urgent")  # 24 h limit; the callback may come up to 24 h after the work
    assert desk.ticket(ticket)["due_at"] == (START + timedelta(hours=24)).isoformat()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.clock.advance(timedelta(hours=5))
    repair_until_confirmation_from_appointment(desk, ticket)
    desk.clock.advance(timedelta(hours=20))  # the callback late on its own 24 h
    call_back(desk, ticket)
    desk.handle(staff.manager, ticket, "manager_review", REVIEWED)
    closed = desk.ticket(ticket)
    assert desk.clock.now() > START + timedelta(hours=24)  # closed after the limit, handled well within it
    assert (closed["stage"], closed["closed_in_time"]) == ("closed", True)


def test_thirty_refused_acceptances_close_like_one_and_the_admin_still_sees_every_round(desk, staff, app):
    """Each refusal sends the repair round again; the engine drops finished rounds it can no longer need, so the
    stored state stops growing, while the ticket, the timeline and the diagram still tell the whole story."""
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    first_repair, sizes = None, []
    for round_ in range(1, 31):
        repair = desk.handle(staff.tech, ticket, "carry_out_repair", {**REPAIR_DONE, "materials": f"第{round_}轮材料"})
        first_repair = first_repair or repair
        desk.handle(staff.tech, ticket, "owner_acceptance", {"owner_accepts": False,
                                                             "refusal_reason": f"第{round_}次：还在渗水。"})
        sizes.append(stored_state_bytes(app, ticket))

    reworked = desk.ticket(ticket)
    assert (reworked["stage"], reworked["rework_count"]) == ("repair", 30)
    assert sizes[-1] < 2 * sizes[0] and sizes[-1] < 1.1 * sizes[9]  # 10 rounds or 30: the same size
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, ticket, "owner_acceptance", ACCEPTED)
    desk.handle(staff.eng_super, ticket, "confirm_repair", CONFIRMED)
    call_back(desk, ticket)
    desk.handle(staff.manager, ticket, "manager_review", REVIEWED)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["rework_count"]) == ("closed", "resolved", 30)
    assert desk.status(ticket) == "completed"
    refusals = [event["data"]["refusal_reason"] for event in desk.instance(ticket)["events"]
                if event["action"] == "complete" and "refusal_reason" in (event["data"] or {})]
    assert refusals == [f"第{round_}次：还在渗水。" for round_ in range(1, 31)]
    assert desk.task_data(staff.tech, first_repair)["materials"] == "第1轮材料"  # the first round, long dropped
    admin = Browser(app.test_client())
    assert admin.log_in("supervisor").status_code == 302
    page = admin.get(f"/admin/instances/{ticket.instance_id}").get_data(as_text=True)
    drawn = json.loads(html.unescape(re.search(r"data-config='([^']+)'", page).group(1)))["elements"]["repair"]
    assert {element: drawn[element] for element in ("dispatch_technician", "carry_out_repair", "owner_acceptance",
                                                     "count_rework", "manager_review")} == {
        "dispatch_technician": {"completed": 1, "active": 0}, "carry_out_repair": {"completed": 31, "active": 0},
        "owner_acceptance": {"completed": 31, "active": 0}, "count_rework": {"completed": 30, "active": 0},
        "manager_review": {"completed": 1, "active": 0}}
    assert "第1次：还在渗水。" in page and "第30次：还在渗水。" in page  # the timeline keeps every round


def stored_state_bytes(app, ticket) -> int:
    from app.extensions import db
    from app.models import ProcessInstance

    with app.app_context():
        return len(db.session.get(ProcessInstance, ticket.instance_id).state.encode())
