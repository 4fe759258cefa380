"""Repair work order (维修工单): warranty, dispatch, visit, quote, repair, acceptance, confirmation, callback, review.

Every test runs twice: with a stand-in callback (one ``call_owner`` task, nothing else) and with the
shipped ``bpmn/callback.bpmn``, whose call is the agent's at once (due within 24 hours). The repair flow is
deployed on its own, so it is its own bundle.

Mid-flow the tests read what a ready task sees (``task_data``); ``StepResult.data`` is checked once
the order has closed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from app.engine import (
    CompiledBundle,
    DefinitionError,
    Engine,
    StepResult,
    compile_bundle,
    plan_bundles,
    read_library,
)
from app.services.errors import InvalidFormError, msg
from tests.flows.conftest import ROLES, ROOT, START, Flows, ready_names, shipped_texts
from tests.support.compiling import Compiler

REQUIRED = msg("required")  # a required field's error, as the services say it

TECHNICIAN = "li.gong"
SIGNATURE = "files/signature-0001.png"
A_MINUTE = timedelta(minutes=1)

STAND_IN_CALLBACK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_callback_stand_in"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="callback" name="回访（替身） / Callback (stand-in)" isExecutable="true">
    <bpmn:laneSet id="LaneSet_callback">
      <bpmn:lane id="lane_cs_agent" name="cs_agent">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>call_owner</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>flow_start_call</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="call_owner" name="回访业主 / Call the owner">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="stand_in_callback_call.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_start_call</bpmn:incoming>
      <bpmn:outgoing>flow_call_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>flow_call_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start_call" sourceRef="start" targetRef="call_owner" />
    <bpmn:sequenceFlow id="flow_call_end" sourceRef="call_owner" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
STAND_IN_CALLBACK_FORM = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "回访业主 / Call the owner",
  "type": "object",
  "properties": {
    "reached": {"type": "boolean", "title": "已联系上 / Reached"},
    "satisfaction": {"type": "string", "title": "满意度 / Satisfaction",
                     "oneOf": [{"const": "satisfied", "title": "满意 / Satisfied"},
                               {"const": "dissatisfied", "title": "不满意 / Dissatisfied"}]}
  },
  "required": ["reached"]
}
"""


def repair_only(compiled: Compiler, texts: Mapping[str, bytes]) -> tuple[CompiledBundle, Mapping[str, dict[str, Any]]]:
    """The one bundle of ``texts`` (repair with its callback), compiled as the deploy service does, and the forms.

    Compiled once per content for the run (the session fixture ``compiled``, tests/support/compiling.py).
    """
    deployment = compiled(texts)
    assert deployment.problems == []
    assert list(deployment.bundles) == ["repair"]
    return deployment.bundles["repair"], deployment.forms


@pytest.fixture(scope="module", params=["stand_in_callback", "shipped_callback"])
def repair_bundle(request: pytest.FixtureRequest,
                  compiled: Compiler) -> tuple[CompiledBundle, Mapping[str, dict[str, Any]]]:
    if request.param == "shipped_callback":
        assert (ROOT / "bpmn" / "callback.bpmn").is_file(), "bpmn/callback.bpmn ships with the repair flow"
        return repair_only(compiled, shipped_texts("repair.bpmn", "callback.bpmn"))
    texts = shipped_texts("repair.bpmn")
    texts |= {"callback.bpmn": STAND_IN_CALLBACK.encode(),
              "stand_in_callback_call.json": STAND_IN_CALLBACK_FORM.encode()}
    return repair_only(compiled, texts)


@pytest.fixture
def flows(repair_bundle: tuple[CompiledBundle, Mapping[str, dict[str, Any]]], clock: ManualClock) -> Flows:
    bundle, forms = repair_bundle
    specs: dict[str, str] = {}
    engine = Engine(specs.__getitem__, clock)
    specs["repair"] = engine.register_bundle("repair", bundle)
    return Flows(engine, clock, copy.deepcopy(forms))


def years_ago(years: float) -> str:
    return (START - timedelta(days=365.25 * years)).date().isoformat()


def reported(flows: Flows, **changes: Any) -> StepResult:
    """Start a work order with what reception hands over for a repair call."""
    return flows.start("repair", {
        "ticket_number": "KF-20260302-0001", "reported_at": flows.clock.now().isoformat(),
        "handover_date": years_ago(2), "common_area": False, "part": "roof_waterproof", "urgency": "normal",
        "major_repair": False, "description": "顶层卧室天花板渗水。", "caller_name": "王先生",
        "phone": "13812345678", "unit": "3栋-1202", "escalation_level": 0, "rework_count": 0, **changes,
    })


def dispatched(flows: Flows, result: StepResult) -> StepResult:
    return flows.complete(result, "dispatch_technician", {"technician": TECHNICIAN, "dispatch_note": "带防水材料。"})


def appointed(flows: Flows, result: StepResult, at: str = "2026-03-03T09:00:00+08:00") -> StepResult:
    return flows.complete(result, "agree_appointment", {"appointment_at": at})


def inspected(flows: Flows, result: StepResult, **changes: Any) -> StepResult:
    return flows.complete(result, "inspect_on_site", {
        "reschedule": False, "owner_withdraws": False, "waiting_for_parts": False,
        "inspected_part": "屋面防水层", "repair_items": "局部重做防水层。",
        "quote_labour": 200.0, "quote_material": 150.5, **changes,
    })


def repaired(flows: Flows, result: StepResult, **changes: Any) -> StepResult:
    return flows.complete(result, "carry_out_repair", {
        "waiting_for_parts": False, "actual_labour_hours": 3.5, "materials": "防水涂料 2 桶",
        "fee_labour": 200.0, "fee_material": 150.5, "completed_at": "2026-03-03T15:00:00+08:00", **changes,
    })


def accepted(flows: Flows, result: StepResult) -> StepResult:
    return flows.complete(result, "owner_acceptance", {"owner_accepts": True, "owner_signature": SIGNATURE})


def confirmed(flows: Flows, result: StepResult) -> StepResult:
    return flows.complete(result, "confirm_repair", {"confirmed": True})


def called_back(flows: Flows, result: StepResult) -> StepResult:
    """Run the callback: wait for it if it waits, then the owner is reached and satisfied."""
    while "call_owner" not in ready_names(result):
        assert result.next_timer_at is not None, f"callback neither ready nor waiting: {ready_names(result)}"
        flows.clock.set(max(flows.clock.now(), result.next_timer_at) + A_MINUTE)
        result = flows.engine.fire_due_timers(result.state)
    return flows.complete(result, "call_owner", {"reached": True, "satisfaction": "satisfied"})


def reviewed(flows: Flows, result: StepResult) -> StepResult:
    return flows.complete(result, "manager_review", {"approved": True, "review_note": "按时完成。"})


def until_repair(flows: Flows, result: StepResult) -> StepResult:
    """From a started free repair to the ready ``carry_out_repair``."""
    return inspected(flows, appointed(flows, dispatched(flows, result)))


def where(flows: Flows, result: StepResult, element_id: str) -> tuple[str | None, str | None, str | None]:
    task = flows.task(result, element_id)
    return task.lane, task.department, task.assignee


def stage_of(flows: Flows, result: StepResult, element_id: str) -> str:
    return flows.task_data(result, element_id)["stage"]


def decided(flows: Flows, result: StepResult) -> tuple[bool, str, str]:
    """The warranty decision, as the dispatcher sees it."""
    order = flows.task_data(result, "dispatch_technician")
    return order["in_warranty"], order["department"], order["paid_by"]


def test_repair_deploys_with_the_shipped_files_without_problems():
    texts = shipped_texts(*(path.name for path in sorted((ROOT / "bpmn").glob("*.bpmn"))))
    library = read_library(texts)
    plans, problems = plan_bundles(library)
    mine = ("repair", "warranty.dmn")
    problems = [*library.problems, *problems]
    bundles = [plan for plan in plans if "repair.bpmn" in plan.files]
    assert bundles, "no bundle takes repair.bpmn"
    for plan in bundles:
        try:
            compile_bundle(library, plan, ROLES)
        except DefinitionError as exc:
            problems.extend(exc.problems)
    assert [problem for problem in problems if problem.file.startswith(mine)] == []


def test_inside_warranty_engineering_repairs_free_and_the_order_closes_resolved(flows):
    started = reported(flows, handover_date=years_ago(2), part="roof_waterproof")

    order = flows.task_data(started, "dispatch_technician")
    assert order["stage"] == "dispatch"
    assert (order["in_warranty"], order["department"], order["paid_by"]) == (True, "engineering", "free")
    assert order["limit_hours"] == 72
    assert order["due_at"] == (START + timedelta(hours=72)).isoformat()
    assert started.next_timer_at == START + timedelta(hours=72)
    assert where(flows, started, "dispatch_technician") == ("eng_supervisor", "engineering", None)
    assert flows.task(started, "dispatch_technician").form_key == "repair_dispatch.json"

    appointment = dispatched(flows, started)
    assert where(flows, appointment, "agree_appointment") == ("technician", None, TECHNICIAN)
    assert stage_of(flows, appointment, "agree_appointment") == "appointment"

    visit = appointed(flows, appointment)
    assert where(flows, visit, "inspect_on_site") == ("technician", None, TECHNICIAN)
    assert stage_of(flows, visit, "inspect_on_site") == "inspection"

    repair = inspected(flows, visit)
    assert ready_names(repair) == ["carry_out_repair"]  # free: no quote for the owner to agree to
    assert where(flows, repair, "carry_out_repair") == ("technician", None, TECHNICIAN)
    assert stage_of(flows, repair, "carry_out_repair") == "repair"

    acceptance = repaired(flows, repair)
    assert where(flows, acceptance, "owner_acceptance") == ("technician", None, TECHNICIAN)
    assert stage_of(flows, acceptance, "owner_acceptance") == "acceptance"

    confirmation = accepted(flows, acceptance)
    assert where(flows, confirmation, "confirm_repair") == ("eng_supervisor", "engineering", None)
    assert stage_of(flows, confirmation, "confirm_repair") == "confirmation"
    assert flows.task_data(confirmation, "confirm_repair")["owner_signature"] == SIGNATURE

    review = called_back(flows, confirmed(flows, confirmation))
    assert where(flows, review, "manager_review") == ("property_manager", None, None)
    assert stage_of(flows, review, "manager_review") == "review"

    closed = reviewed(flows, review)
    assert (closed.status, closed.ready_tasks) == ("completed", ())
    assert (closed.data["outcome"], closed.data["stage"]) == ("resolved", "closed")
    assert closed.data["satisfaction"] == "satisfied"
    assert (closed.data["rework_count"], closed.data["escalation_level"]) == (0, 0)
    assert closed.data["technician"] == TECHNICIAN


def test_outside_warranty_owner_who_refuses_the_quote_cancels_the_order_without_a_callback(flows):
    started = reported(flows, handover_date=years_ago(6), part="plumbing", common_area=False)

    assert decided(flows, started) == (False, "property", "owner")
    assert where(flows, started, "dispatch_technician") == ("eng_supervisor", "property", None)

    quote = inspected(flows, appointed(flows, dispatched(flows, started)))

    assert where(flows, quote, "owner_consents") == ("technician", None, TECHNICIAN)
    with pytest.raises(InvalidFormError) as no_reason:
        flows.complete(quote, "owner_consents", {"owner_agrees": False})
    assert no_reason.value.errors == {"refusal_reason": REQUIRED}

    cancelled = flows.complete(quote, "owner_consents", {"owner_agrees": False, "refusal_reason": "太贵了。"})

    assert (cancelled.status, cancelled.ready_tasks) == ("completed", ())
    assert (cancelled.data["outcome"], cancelled.data["stage"]) == ("cancelled", "closed")
    assert cancelled.data["refusal_reason"] == "太贵了。"
    assert "reached" not in cancelled.data  # no callback ran
    assert cancelled.data["satisfaction"] is None  # the default the order starts with; nobody was asked


def test_owner_who_agrees_to_the_quote_gets_the_repair(flows):
    quote = inspected(flows, appointed(flows, dispatched(flows, reported(flows, handover_date=years_ago(6)))))

    repair = flows.complete(quote, "owner_consents", {"owner_agrees": True, "payment_method": "cash"})

    assert ready_names(repair) == ["carry_out_repair"]
    assert stage_of(flows, repair, "carry_out_repair") == "repair"
    work = flows.task_data(repair, "carry_out_repair")
    assert (work["fee_labour"], work["fee_material"], work["payment_method"]) == (200.0, 150.5, "cash")  # the quote


def test_refused_acceptance_goes_back_to_repair_and_counts_one_rework(flows):
    acceptance = repaired(flows, until_repair(flows, reported(flows)))

    with pytest.raises(InvalidFormError) as unsigned:
        flows.complete(acceptance, "owner_acceptance", {"owner_accepts": True})
    assert unsigned.value.errors == {"owner_signature": REQUIRED}

    rework = flows.complete(acceptance, "owner_acceptance", {"owner_accepts": False, "refusal_reason": "还在渗水。"})

    assert ready_names(rework) == ["carry_out_repair"]
    assert where(flows, rework, "carry_out_repair") == ("technician", None, TECHNICIAN)
    assert flows.task_data(rework, "carry_out_repair")["rework_count"] == 1
    assert stage_of(flows, rework, "carry_out_repair") == "repair"

    closed = reviewed(flows, called_back(flows, confirmed(flows, accepted(flows, repaired(flows, rework)))))

    assert (closed.status, closed.data["outcome"]) == ("completed", "resolved")
    assert closed.data["rework_count"] == 1


def test_supervisor_sending_the_repair_back_is_not_counted_as_a_rework(flows):
    confirmation = accepted(flows, repaired(flows, until_repair(flows, reported(flows))))

    sent_back = flows.complete(confirmation, "confirm_repair", {"confirmed": False, "confirm_note": "材料费不对。"})

    assert ready_names(sent_back) == ["carry_out_repair"]
    assert flows.task_data(sent_back, "carry_out_repair")["rework_count"] == 0
    assert stage_of(flows, sent_back, "carry_out_repair") == "repair"
    again = accepted(flows, repaired(flows, sent_back, fee_material=120.0))
    assert ready_names(again) == ["confirm_repair"]


def test_major_repair_of_common_parts_outside_warranty_is_paid_from_the_maintenance_fund(flows):
    started = reported(flows, handover_date=None, common_area=True, major_repair=True, part="exterior_wall",
                       unit="5栋外墙")

    assert decided(flows, started) == (False, "property", "maintenance_fund")
    assert flows.task_data(started, "dispatch_technician")["years_since_handover"] is None
    repair = until_repair(flows, started)
    assert ready_names(repair) == ["carry_out_repair"]  # nobody's quote to agree to

    acceptance = repaired(flows, repair, maintenance_fund_amount=350.5)

    assert flows.task_data(acceptance, "owner_acceptance")["maintenance_fund_amount"] == 350.5


@pytest.mark.parametrize(("part", "years", "common_area", "major_repair", "expected"), [
    ("roof_waterproof", 4.9, False, False, (True, "engineering", "free")),
    ("roof_waterproof", 5.1, False, False, (False, "property", "owner")),
    ("kitchen_bathroom_waterproof", 3, False, False, (True, "engineering", "free")),
    ("exterior_wall", 4, True, True, (True, "engineering", "free")),
    ("heating_cooling", 1.5, False, False, (True, "engineering", "free")),
    ("heating_cooling", 2.5, False, False, (False, "property", "owner")),
    ("electrical", 1, False, False, (True, "engineering", "free")),
    ("plumbing", 2.1, True, False, (False, "property", "property")),
    ("equipment", 3, True, True, (False, "property", "maintenance_fund")),
    ("decoration", 1.9, False, False, (True, "engineering", "free")),
    ("other", 0.1, False, False, (False, "property", "owner")),
    ("other", 0.1, True, False, (False, "property", "property")),
    ("roof_waterproof", None, True, False, (False, "property", "property")),
])
def test_warranty_decides_department_and_who_pays(flows, part, years, common_area, major_repair, expected):
    handover = years_ago(years) if years is not None else None

    started = reported(flows, part=part, handover_date=handover, common_area=common_area, major_repair=major_repair)

    assert decided(flows, started) == expected
    assert flows.task(started, "dispatch_technician").department == expected[1]


@pytest.mark.parametrize(("urgency", "emergency", "hours"), [
    ("normal", False, 72), ("urgent", False, 24), ("emergency", False, 4), ("urgent", True, 4), ("normal", True, 4),
])
def test_time_limit_follows_the_urgency_and_an_emergency_gets_four_hours(flows, urgency, emergency, hours):
    started = reported(flows, urgency=urgency, emergency=emergency)

    order = flows.task_data(started, "dispatch_technician")
    assert order["limit_hours"] == hours
    assert order["due_at"] == (START + timedelta(hours=hours)).isoformat()
    assert started.next_timer_at == START + timedelta(hours=hours)


def test_an_intake_without_part_major_repair_or_counters_still_starts(flows):
    started = flows.start("repair", {
        "ticket_number": "KF-20260302-0002", "reported_at": START.isoformat(), "handover_date": years_ago(1),
        "common_area": False, "urgency": "urgent", "description": "门锁坏了。", "caller_name": "李女士",
        "phone": "13912345678", "unit": "1栋-302",
    })

    assert ready_names(started) == ["dispatch_technician"]
    order = flows.task_data(started, "dispatch_technician")
    assert (order["part"], order["major_repair"], order["emergency"]) == ("other", False, False)
    assert (order["rework_count"], order["escalation_level"]) == (0, 0)
    assert order["paid_by"] == "owner"


def test_waiting_for_parts_pauses_the_clock_and_moves_the_deadline_by_exactly_the_hours_paused(flows):
    repair = until_repair(flows, reported(flows))
    original_due = START + timedelta(hours=72)
    flows.clock.advance(timedelta(hours=2))

    with pytest.raises(InvalidFormError) as no_parts:
        flows.complete(repair, "carry_out_repair", {"waiting_for_parts": True})
    assert no_parts.value.errors == {"parts_note": REQUIRED, "parts_expected_at": REQUIRED}
    expected = (flows.clock.now() + timedelta(days=2)).isoformat()  # inside the pause cap: no approval
    paused = flows.complete(repair, "carry_out_repair", {"waiting_for_parts": True, "parts_note": "缺专用卷材。",
                                                         "parts_expected_at": expected})

    assert where(flows, paused, "parts_arrived") == ("technician", None, TECHNICIAN)
    assert stage_of(flows, paused, "parts_arrived") == "repair"
    assert flows.task_data(paused, "parts_arrived")["pause_started"] == flows.clock.now().isoformat()
    assert paused.next_timer_at is None  # the deadline does not run while waiting
    flows.clock.advance(timedelta(hours=30, minutes=30))
    still_waiting = flows.engine.fire_due_timers(paused.state)
    assert ready_names(still_waiting) == ["parts_arrived"]

    resumed = flows.complete(still_waiting, "parts_arrived", {"parts_arrival_note": "卷材已到。"})

    moved_due = original_due + timedelta(hours=30, minutes=30)
    assert ready_names(resumed) == ["carry_out_repair"]  # straight back to the repair, not to dispatch
    assert flows.task_data(resumed, "carry_out_repair")["due_at"] == moved_due.isoformat()
    assert resumed.next_timer_at == moved_due
    assert flows.task_data(resumed, "carry_out_repair")["waiting_for_parts"] is False
    closed = reviewed(flows, called_back(flows, confirmed(flows, accepted(flows, repaired(flows, resumed)))))
    assert (closed.status, closed.data["outcome"], closed.data["due_at"]) == (
        "completed", "resolved", moved_due.isoformat())


def test_waiting_for_parts_found_at_the_inspection_pauses_before_the_repair(flows):
    visit = appointed(flows, dispatched(flows, reported(flows)))

    paused = inspected(flows, visit, waiting_for_parts=True, parts_note="需订购配件。",
                       parts_expected_at=(flows.clock.now() + timedelta(days=1)).isoformat())

    assert ready_names(paused) == ["parts_arrived"]
    flows.clock.advance(timedelta(hours=10))
    resumed = flows.complete(paused, "parts_arrived", {})
    assert ready_names(resumed) == ["carry_out_repair"]
    assert flows.task_data(resumed, "carry_out_repair")["due_at"] == (START + timedelta(hours=82)).isoformat()


def test_rescheduled_appointment_brings_the_inspection_back_with_the_new_time(flows):
    visit = appointed(flows, dispatched(flows, reported(flows)), at="2026-03-03T09:00:00+08:00")

    with pytest.raises(InvalidFormError) as no_time:
        flows.complete(visit, "inspect_on_site", {"reschedule": True, "owner_withdraws": False,
                                                  "waiting_for_parts": False})
    assert no_time.value.errors == {"appointment_at": REQUIRED}
    again = flows.complete(visit, "inspect_on_site", {"reschedule": True, "owner_withdraws": False,
                                                      "waiting_for_parts": False,
                                                      "appointment_at": "2026-03-04T14:00:00+08:00"})

    assert ready_names(again) == ["inspect_on_site"]
    assert where(flows, again, "inspect_on_site") == ("technician", None, TECHNICIAN)
    assert flows.task_data(again, "inspect_on_site")["appointment_at"] == "2026-03-04T14:00:00+08:00"
    assert stage_of(flows, again, "inspect_on_site") == "inspection"
    assert ready_names(inspected(flows, again)) == ["carry_out_repair"]


def test_owner_withdrawing_at_the_inspection_closes_the_order_as_withdrawn_without_a_callback(flows):
    visit = appointed(flows, dispatched(flows, reported(flows)))

    withdrawn = flows.complete(visit, "inspect_on_site", {"reschedule": False, "owner_withdraws": True,
                                                          "waiting_for_parts": False,
                                                          "withdrawal_reason": "业主已自行修好。"})

    assert (withdrawn.status, withdrawn.ready_tasks) == ("completed", ())
    assert (withdrawn.data["outcome"], withdrawn.data["stage"]) == ("withdrawn", "closed")
    assert "reached" not in withdrawn.data


def test_passing_the_deadline_brings_in_the_supervisor_while_the_repair_continues(flows):
    visit = appointed(flows, dispatched(flows, reported(flows, urgency="urgent")))
    due = START + timedelta(hours=24)
    assert visit.next_timer_at == due

    flows.clock.set(due - A_MINUTE)
    assert ready_names(flows.engine.fire_due_timers(visit.state)) == ["inspect_on_site"]
    flows.clock.set(due + A_MINUTE)
    overdue = flows.engine.fire_due_timers(visit.state)

    assert ready_names(overdue) == ["eng_supervisor_follow_up", "inspect_on_site"]
    assert where(flows, overdue, "eng_supervisor_follow_up") == ("eng_supervisor", "engineering", None)
    assert flows.task_data(overdue, "eng_supervisor_follow_up")["escalation_level"] == 2
    assert overdue.next_timer_at is None  # fires once
    followed_up = flows.complete(overdue, "eng_supervisor_follow_up", {"follow_up_note": "已催维修人员今天上门。"})
    assert ready_names(followed_up) == ["inspect_on_site"]

    repair = inspected(flows, followed_up)
    assert flows.task_data(repair, "carry_out_repair")["escalation_level"] == 2  # the main path knows it too
    closed = reviewed(flows, called_back(flows, confirmed(flows, accepted(flows, repaired(flows, repair)))))

    assert (closed.status, closed.data["outcome"]) == ("completed", "resolved")
    assert (closed.data["escalation_level"], closed.data["repair_overdue"]) == (2, True)


def test_a_follow_up_still_open_when_the_order_closes_does_not_keep_it_open(flows):
    visit = appointed(flows, dispatched(flows, reported(flows, urgency="urgent")))
    flows.clock.set(START + timedelta(hours=25))
    overdue = flows.engine.fire_due_timers(visit.state)

    review = called_back(flows, confirmed(flows, accepted(flows, repaired(flows, inspected(flows, overdue)))))
    assert ready_names(review) == ["eng_supervisor_follow_up", "manager_review"]
    closed = reviewed(flows, review)

    assert (closed.status, closed.ready_tasks) == ("completed", ())
    assert (closed.data["outcome"], closed.data["stage"], closed.data["escalation_level"]) == ("resolved", "closed", 2)


def test_a_deadline_missed_before_a_pause_is_followed_up_only_once(flows):
    repair = until_repair(flows, reported(flows, urgency="urgent"))
    flows.clock.set(START + timedelta(hours=25))
    overdue = flows.engine.fire_due_timers(repair.state)
    assert ready_names(overdue) == ["carry_out_repair", "eng_supervisor_follow_up"]

    expected = (flows.clock.now() + timedelta(days=2)).isoformat()
    paused = flows.complete(overdue, "carry_out_repair", {"waiting_for_parts": True, "parts_note": "缺阀门。",
                                                          "parts_expected_at": expected})
    assert flows.task_data(paused, "parts_arrived")["escalation_level"] == 2  # the main path knows too
    flows.clock.advance(timedelta(hours=5))
    resumed = flows.complete(paused, "parts_arrived", {})
    due = flows.task_data(resumed, "carry_out_repair")["due_at"]
    assert due == (START + timedelta(hours=29)).isoformat()  # moved by 5 hours, still past: the clock says 30 h
    fired_again = flows.engine.fire_due_timers(resumed.state)

    assert fired_again.next_timer_at is None  # the re-armed deadline has fired, and found the order followed up
    assert ready_names(fired_again) == ["carry_out_repair", "eng_supervisor_follow_up"]  # the same one follow-up
    assert flows.task(fired_again, "eng_supervisor_follow_up").task_id == flows.task(overdue,
                                                                                      "eng_supervisor_follow_up").task_id


def test_a_repair_finished_after_its_deadline_closes_at_escalation_level_two_even_without_the_timer_firing(flows):
    repair = until_repair(flows, reported(flows, urgency="urgent"))
    flows.clock.set(START + timedelta(hours=30))  # no timer run in between

    review = called_back(flows, confirmed(flows, accepted(flows, repaired(flows, repair))))

    order = flows.task_data(review, "manager_review")
    assert (order["escalation_level"], order["repair_overdue"]) == (2, True)


@pytest.mark.parametrize("repair_bundle", ["shipped_callback"], indirect=True)  # the stand-in always reaches
def test_owner_unreachable_at_the_callback_still_gets_the_review_and_closes_as_unreachable(flows):
    result = confirmed(flows, accepted(flows, repaired(flows, until_repair(flows, reported(flows)))))

    while "manager_review" not in ready_names(result):
        if "call_owner" in ready_names(result):
            result = flows.complete(result, "call_owner", {"reached": False})
        else:
            assert result.next_timer_at is not None
            flows.clock.set(result.next_timer_at + A_MINUTE)
            result = flows.engine.fire_due_timers(result.state)
    closed = reviewed(flows, result)

    assert (closed.status, closed.data["outcome"], closed.data["stage"]) == ("completed", "unreachable", "closed")


def test_an_order_started_without_the_tickets_system_data_runs_on_defaults_instead_of_failing(flows):
    """The generic start hands over only what the intake form holds: no ticket number, report time,
    handover date or common-area flag. The order still starts, with an unknown warranty."""
    started = flows.start("repair", {"description": "门锁坏了。", "unit": "2号地库", "urgency": "urgent"})

    assert (started.status, ready_names(started)) == ("running", ["dispatch_technician"])
    order = flows.task_data(started, "dispatch_technician")
    assert order["reported_at"] == START.isoformat()
    assert (order["handover_date"], order["common_area"], order["warranty_unknown"]) == (None, False, True)
    assert (order["in_warranty"], order["paid_by"]) == (False, "owner")
    assert order["due_at"] == (START + timedelta(hours=24)).isoformat()
    closed = reviewed(flows, called_back(flows, confirmed(flows, accepted(flows, repaired(
        flows, flows.complete(inspected(flows, appointed(flows, dispatched(flows, started))), "owner_consents",
                              {"owner_agrees": True, "payment_method": "mobile"}))))))
    assert (closed.status, closed.data["outcome"]) == ("completed", "resolved")


def on(day: str) -> str:
    return f"{day}T10:00:00+08:00"


@pytest.mark.parametrize(("part", "handover", "report", "expected"), [
    # foundation and main structure: the design life, 50 years
    ("structure", "1996-04-01", on("2026-03-02"), (True, "engineering", "free")),
    ("structure", "1975-04-01", on("2026-03-02"), (False, "property", "owner")),
    # heating: two whole heating seasons (Nov 15 - Mar 15) after the handover, not two years
    ("heating_cooling", "2023-12-01", on("2026-03-02"), (True, "engineering", "free")),  # 2.25 years, 1 season
    ("heating_cooling", "2023-12-01", on("2026-03-16"), (False, "property", "owner")),  # the 2nd has ended
    ("heating_cooling", "2025-06-01", on("2026-03-20"), (True, "engineering", "free")),  # one season done
    ("heating_cooling", "2023-11-15", on("2025-03-16"), (False, "property", "owner")),  # from its first day
])
def test_structure_lasts_its_design_life_and_heating_counts_whole_heating_seasons(flows, part, handover, report,
                                                                                  expected):
    flows.clock.set(datetime.fromisoformat(report))

    started = reported(flows, part=part, handover_date=handover)

    assert decided(flows, started) == expected
    assert flows.task_data(started, "dispatch_technician")["warranty_unknown"] is False


def test_a_common_area_without_a_handover_date_is_flagged_and_treated_as_outside_the_warranty(flows):
    started = reported(flows, part="roof_waterproof", handover_date=None, common_area=True, unit="2号地库")

    order = flows.task_data(started, "dispatch_technician")
    assert decided(flows, started) == (False, "property", "property")
    assert order["warranty_unknown"] is True


def test_a_long_wait_for_parts_waits_for_the_cs_supervisor_and_a_refusal_sends_the_repair_on(flows):
    repair = until_repair(flows, reported(flows))
    expected = flows.clock.now() + timedelta(days=7)  # longer than pause_cap_days (3)
    asked = flows.complete(repair, "carry_out_repair", {"waiting_for_parts": True, "parts_note": "进口阀门缺货。",
                                                        "parts_expected_at": expected.isoformat()})

    approval = flows.task(asked, "approve_parts_pause")
    assert (approval.lane, approval.form_key, ready_names(asked)) == (
        "cs_supervisor", "repair_pause_approval.json", ["approve_parts_pause"])
    allowed = flows.complete(asked, "approve_parts_pause", {"pause_approved": True, "pause_review_note": "同意。"})
    assert flows.task(allowed, "parts_arrived").due_at == expected  # the wait has its planned end

    refused = flows.complete(asked, "approve_parts_pause", {"pause_approved": False,
                                                            "pause_review_note": "改用国产阀门，不同意等待。"})
    assert ready_names(refused) == ["carry_out_repair"]
