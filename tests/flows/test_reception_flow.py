"""Reception (客户接待): one ticket from the recorded call to its close, driven on the engine alone.

Complaint, repair and callback run inside reception as call activities. Every path runs twice: with
tiny stand-ins for the three called flows, and with the shipped ones where they exist (stand-ins fill
in for any that do not exist yet). The clock is a ManualClock; "local" is Asia/Shanghai.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from app.engine import (
    CompiledBundle,
    Engine,
    StepResult,
    UserTaskView,
)
from app.engine.library import bpmn_tag
from app.engine.xml import parse_xml
from app.services.work.forms import clean_submission
from tests.flows.conftest import ROOT, START, Flows, shipped_texts
from tests.support.compiling import Compiler

CALLED = {"complaint": "cs_agent", "repair": "eng_supervisor", "callback": "cs_agent"}  # stand-in: its one lane
MORNING = START  # a Monday, 09:00 in Shanghai
NIGHT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # the same Monday, 22:00 in Shanghai
NEXT_MORNING = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # Tuesday, 08:00 in Shanghai
# SpiffWorkflow fires a timer once the clock is strictly past its due time: the first tick after 08:00:00.
TICK = timedelta(seconds=1)


def stand_in(process_id: str, lane: str) -> bytes:
    """A called flow reduced to one user task, ``stand_in_<process_id>``, without a form: it takes any data."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_{process_id}"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" name="替身 / Stand-in {process_id}" isExecutable="true">
    <bpmn:laneSet id="LaneSet_{process_id}">
      <bpmn:lane id="lane_{lane}" name="{lane}"><bpmn:flowNodeRef>stand_in_{process_id}</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="stand_in_{process_id}" name="替身 / Stand-in" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="flow_start_task" sourceRef="start" targetRef="stand_in_{process_id}" />
    <bpmn:sequenceFlow id="flow_task_end" sourceRef="stand_in_{process_id}" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def stand_ins() -> dict[str, bytes]:
    return {f"{process_id}.bpmn": stand_in(process_id, lane) for process_id, lane in CALLED.items()}


def reception_texts(compiled: Compiler, *, shipped_called_flows: bool) -> dict[str, bytes]:
    """reception.bpmn with every table and form, and the called flows: shipped ones where asked and deployable."""
    shipped = deployable_called_flows(compiled) if shipped_called_flows else ()
    return {**stand_ins(), **shipped_texts("reception.bpmn", *shipped)}


def deployable_called_flows(compiled: Compiler) -> tuple[str, ...]:
    """The shipped called flows that deploy with reception; one still being written keeps its stand-in.

    test_definitions.py is where a shipped flow that does not deploy fails; here it would only hide
    what reception itself does. Each set of files is compiled once for the run (the fixture ``compiled``).
    """
    deployable = []
    for name in (f"{process_id}.bpmn" for process_id in CALLED):
        if (ROOT / "bpmn" / name).is_file():
            deployment = compiled({**stand_ins(), **shipped_texts("reception.bpmn", name)})
            if list(deployment.bundles) == ["reception"] and not deployment.problems:
                deployable.append(name)
    return tuple(deployable)


def intake(**changes: Any) -> dict[str, Any]:
    """What the agent records on the New Ticket page (reception_intake.json)."""
    return {"project": "翠湖花园", "unit": "3栋-1202", "caller_name": "王先生", "phone": "13812345678",
            "channel": "hotline", "category": "consultation", "description": "想问一下物业费的缴费方式。",
            "urgency": "normal", "emergency": False, **changes}


@dataclass
class Reception:
    """Reception deployed on an engine (``flows``), and the moves a test makes on a ticket."""

    flows: Flows
    bundle: CompiledBundle
    sub_processes: dict[str, set[str]]  # process id -> ids of its embedded sub-processes

    @property
    def engine(self) -> Engine:
        return self.flows.engine

    @property
    def clock(self) -> ManualClock:
        return self.flows.clock

    def start(self, **changes: Any) -> StepResult:
        """Open a ticket the way the ticket service does: the checked intake plus the system's data."""
        data = clean_submission(self.flows.forms["reception_intake.json"], intake(**changes))
        system = {"ticket_number": "KF-20260302-0001", "reported_at": self.clock.now().isoformat(),
                  "handover_date": "2024-06-30", "common_area": False, "reopened_from": None,
                  "escalation_level": 0, "rework_count": 0}
        return self.flows.start("reception", {**data, **system})

    def complete(self, result: StepResult, element_id: str, data: Mapping[str, Any] | None = None) -> StepResult:
        return self.flows.complete(result, element_id, data)

    def task(self, result: StepResult, element_id: str) -> UserTaskView:
        return self.flows.task(result, element_id)

    def submit(self, result: StepResult, task: UserTaskView, data: Mapping[str, Any]) -> StepResult:
        """Complete a called flow's task: checked against its form, or taken as is by a stand-in."""
        if task.form_key:
            data = clean_submission(self.flows.forms[task.form_key], dict(data))
        return self.engine.complete(result.state, task.task_id, dict(data))

    def ready_in(self, result: StepResult, process_id: str) -> UserTaskView:
        """The one READY task, which must belong to the called process (or one of its embedded sub-processes)."""
        assert len(result.ready_tasks) == 1, result.ready_tasks
        task = result.ready_tasks[0]
        assert task.process_id in {process_id, *self.sub_processes.get(process_id, ())}, task
        return task

    def call_back(self, result: StepResult, **data: Any) -> StepResult:
        """The owner is reached and satisfied, in whichever callback flow is deployed."""
        return self.submit(result, self.ready_in(result, "callback"), {"reached": True, "satisfaction": "satisfied",
                                                                        **data})


@dataclass(frozen=True)
class Deployed:
    bundle: CompiledBundle
    forms: dict[str, dict[str, Any]]
    sub_processes: dict[str, set[str]]  # process id -> ids of its embedded sub-processes


def deployed_reception(compiled: Compiler, *, shipped_called_flows: bool) -> Deployed:
    """Read, check and compile once per variant for the run (the session fixture ``compiled``)."""
    texts = reception_texts(compiled, shipped_called_flows=shipped_called_flows)
    deployment = compiled(texts)
    assert deployment.problems == []
    assert list(deployment.bundles) == ["reception"]
    return Deployed(deployment.bundles["reception"], copy.deepcopy(deployment.forms), sub_processes_of(texts))


@functools.cache
def sub_processes_of_bpmn(text: bytes) -> dict[str, set[str]]:
    return {process.get("id"): {node.get("id") for node in process.iter(bpmn_tag("subProcess"))}
            for process in parse_xml(text).iter(bpmn_tag("process"))}


def sub_processes_of(texts: Mapping[str, bytes]) -> dict[str, set[str]]:
    """Process id -> ids of the embedded sub-processes it holds, for every diagram of ``texts``."""
    found: dict[str, set[str]] = {}
    for name, text in texts.items():
        if name.endswith(".bpmn"):
            found |= sub_processes_of_bpmn(text)
    return found


def deploy_reception(clock: ManualClock, compiled: Compiler, *, shipped_called_flows: bool) -> Reception:
    deployed = deployed_reception(compiled, shipped_called_flows=shipped_called_flows)
    specs: dict[str, str] = {}
    engine = Engine(specs.__getitem__, clock, "Asia/Shanghai")
    specs["reception"] = engine.register_bundle("reception", deployed.bundle)
    return Reception(Flows(engine, clock, deployed.forms), deployed.bundle, deployed.sub_processes)


@pytest.fixture(params=["stand-ins", "shipped"])
def reception(request: pytest.FixtureRequest, clock: ManualClock, compiled: Compiler) -> Reception:
    shipped = request.param == "shipped"
    assert not shipped or deployable_called_flows(compiled), \
        "the called flows (complaint, repair, callback) must deploy"
    return deploy_reception(clock, compiled, shipped_called_flows=shipped)


@pytest.fixture
def with_stand_ins(clock: ManualClock, compiled: Compiler) -> Reception:
    """Reception with stand-ins only: for paths that finish a called flow in one step."""
    return deploy_reception(clock, compiled, shipped_called_flows=False)


def test_reception_is_started_by_the_front_desk_night_security_or_the_supervisor(reception):
    assert reception.bundle.start_roles == ("cs_agent", "night_security", "cs_supervisor")
    assert reception.bundle.start_form == "reception_intake.json"
    assert set(reception.bundle.lane_roles) >= {"cs_agent", "night_security", "dept_owner", "cs_supervisor"}


def test_consultation_answered_on_the_spot_closes_as_answered(reception):
    started = reception.start(category="consultation")
    answer = reception.task(started, "answer_consultation")
    assert (answer.lane, answer.form_key) == ("cs_agent", "reception_consultation.json")
    assert started.data["stage"] == "consultation"

    answered = reception.complete(started, "answer_consultation",
                                  {"answered_on_the_spot": True, "answer": "可在物业 App 或前台缴纳。"})

    assert answered.status == "completed"
    assert answered.ready_tasks == ()
    assert (answered.data["outcome"], answered.data["stage"]) == ("answered", "closed")


def test_forwarded_consultation_goes_to_the_department_with_a_reply_deadline_then_callback(reception):
    started = reception.start(category="consultation")

    forwarded = reception.complete(started, "answer_consultation",
                                   {"answered_on_the_spot": False, "forward_to": "design"})

    reply = reception.task(forwarded, "reply_consultation")
    assert (reply.lane, reply.department, reply.form_key) == ("dept_owner", "design", "reception_reply.json")
    deadline = MORNING + timedelta(hours=24)
    assert reply.due_at == deadline
    assert datetime.fromisoformat(forwarded.data["reply_due"]) == deadline
    assert forwarded.data["due_at"] == forwarded.data["reply_due"]
    assert (forwarded.data["stage"], forwarded.data["department"]) == ("forwarded", "design")

    replied = reception.complete(forwarded, "reply_consultation", {"reply": "设计变更需业主签字确认。"})
    assert reception.ready_in(replied, "callback").lane == "cs_agent"

    called_back = reception.call_back(replied)
    assert called_back.status == "completed"
    assert (called_back.data["outcome"], called_back.data["stage"]) == ("answered", "closed")
    assert called_back.data["satisfaction"] == "satisfied"


def test_overdue_consultation_reply_is_chased_by_the_supervisor_with_a_new_deadline(reception):
    forwarded = reception.complete(reception.start(category="consultation"), "answer_consultation",
                                   {"answered_on_the_spot": False, "forward_to": "design"})
    reception.clock.advance(timedelta(hours=24, minutes=1))

    overdue = reception.engine.fire_due_timers(forwarded.state)

    chase = reception.task(overdue, "chase_reply")
    assert [task.name for task in overdue.ready_tasks] == ["chase_reply"]
    assert (chase.lane, chase.form_key) == ("cs_supervisor", "reception_chase.json")
    chased = reception.complete(overdue, "chase_reply",
                                {"forward_to": "property", "extend_hours": 8, "chase_note": "已电话提醒物业经理。"})
    reply = reception.task(chased, "reply_consultation")
    assert (reply.department, reply.due_at) == ("property", reception.clock.now() + timedelta(hours=8))
    assert chased.data["escalation_level"] == 1
    assert chased.data["due_at"] == forwarded.data["due_at"]  # the missed deadline still counts


def test_life_service_goes_to_the_service_department_then_callback(reception):
    started = reception.start(category="life_service", description="周六上午需要家政保洁。")

    arrange = reception.task(started, "arrange_service")
    assert (arrange.lane, arrange.department, arrange.form_key) == ("dept_owner", "service", "reception_service.json")
    assert (started.data["stage"], started.data["department"]) == ("forwarded", "service")

    arranged = reception.complete(started, "arrange_service", {"service_result": "已安排周六 9 点保洁。"})
    reception.ready_in(arranged, "callback")
    called_back = reception.call_back(arranged)

    assert called_back.status == "completed"
    assert (called_back.data["outcome"], called_back.data["stage"]) == ("resolved", "closed")


@pytest.mark.parametrize("category", ["suggestion", "praise", "other"])
def test_suggestion_praise_or_other_is_forwarded_acknowledged_and_closed_without_callback(reception, category):
    started = reception.start(category=category, description="小区东门绿化很漂亮，感谢园林师傅。")
    forward = reception.task(started, "forward_to_department")
    assert (forward.lane, forward.form_key) == ("cs_agent", "reception_forward.json")

    forwarded = reception.complete(started, "forward_to_department",
                                   {"forward_to": "property", "forward_note": "请转园林班组。"})
    acknowledge = reception.task(forwarded, "acknowledge")
    assert (acknowledge.lane, acknowledge.department) == ("dept_owner", "property")
    assert forwarded.data["stage"] == "forwarded"

    closed = reception.complete(forwarded, "acknowledge", {"acknowledge_note": "已转达园林班组。"})
    assert closed.status == "completed"
    assert closed.ready_tasks == ()
    assert (closed.data["outcome"], closed.data["stage"], closed.data["department"]) == ("forwarded", "closed",
                                                                                          "property")


def test_night_call_without_emergency_waits_for_the_morning_shift(reception):
    reception.clock.set(NIGHT)
    started = reception.start(category="repair", part="plumbing", description="厨房水龙头滴水。")

    assert started.status == "waiting"
    assert started.ready_tasks == ()
    assert (started.data["stage"], started.data["shift"], started.data["dispatch_now"]) == ("night_hold", "night",
                                                                                          False)
    assert started.data["night_emergency"] is False  # nobody is woken for a dripping tap
    assert started.next_timer_at == NEXT_MORNING

    reception.clock.set(NEXT_MORNING - timedelta(minutes=1))  # 07:59 local
    too_early = reception.engine.fire_due_timers(started.state)
    assert too_early.ready_tasks == ()
    assert too_early.next_timer_at == NEXT_MORNING

    reception.clock.set(NEXT_MORNING + TICK)  # 08:00:01 local
    morning = reception.engine.fire_due_timers(too_early.state)
    handover = reception.task(morning, "morning_handover")
    assert (handover.lane, handover.form_key) == ("cs_agent", "reception_handover.json")
    assert morning.data["stage"] == "intake"

    handed_over = reception.complete(morning, "morning_handover", {"record_confirmed": True})
    reception.ready_in(handed_over, "repair")


def test_morning_shift_may_correct_the_category_recorded_at_night(reception):
    reception.clock.set(NIGHT)
    started = reception.start(category="other", description="想问装修押金什么时候退。")
    reception.clock.set(NEXT_MORNING + TICK)
    morning = reception.engine.fire_due_timers(started.state)

    corrected = reception.complete(morning, "morning_handover",
                                   {"record_confirmed": True, "category": "consultation",
                                    "handover_note": "夜班误选类别，已改为咨询。"})

    assert [task.name for task in corrected.ready_tasks] == ["answer_consultation"]
    assert corrected.data["category"] == "consultation"


@pytest.mark.parametrize("category", ["repair", "complaint"])
def test_night_emergency_is_dispatched_at_once(reception, category):
    reception.clock.set(NIGHT)

    started = reception.start(category=category, emergency=True, urgency="urgent", part="plumbing",
                              complaint_type="safety", description="楼上跑水，客厅天花板在滴水。")

    reception.ready_in(started, category)
    # night_emergency: the ticket service alerts the engineer on call; the complaint flow's night lane reads it.
    assert (started.data["shift"], started.data["dispatch_now"], started.data["night_emergency"]) == ("night", True,
                                                                                                      True)


def test_day_repair_starts_the_repair_work_order(reception):
    started = reception.start(category="repair", part="kitchen_bathroom_waterproof",
                              description="卫生间地面渗水到楼下。")

    reception.ready_in(started, "repair")
    assert (started.data["shift"], started.data["dispatch_now"], started.data["night_emergency"]) == ("day", True,
                                                                                                      False)


def test_day_complaint_starts_the_complaint_handling(reception):
    started = reception.start(category="complaint", complaint_type="property_service", description="保安夜里不巡逻。")

    reception.ready_in(started, "complaint")


@pytest.mark.parametrize(("local_time", "shift"), [
    ("07:59", "night"), ("08:00", "day"), ("19:59", "day"), ("20:00", "night"), ("00:30", "night"),
])
def test_the_shift_changes_at_eight_and_at_twenty_local_time(with_stand_ins, local_time, shift):
    hour, minute = (int(part) for part in local_time.split(":"))
    with_stand_ins.clock.set(datetime(2026, 3, 2, hour, minute, tzinfo=UTC) - timedelta(hours=8))

    started = with_stand_ins.start(category="consultation")

    assert started.data["shift"] == shift
    assert started.data["stage"] == ("consultation" if shift == "day" else "night_hold")


@pytest.mark.parametrize("category", ["repair", "complaint"])
def test_the_ticket_closes_when_the_called_flow_ends(with_stand_ins, category):
    started = with_stand_ins.start(category=category)

    finished = with_stand_ins.submit(started, with_stand_ins.ready_in(started, category), {"outcome": "resolved"})

    assert finished.status == "completed"
    assert (finished.data["stage"], finished.data["outcome"]) == ("closed", "resolved")


def test_an_unreachable_owner_stays_unreachable_after_the_callback(with_stand_ins):
    arranged = with_stand_ins.complete(with_stand_ins.start(category="life_service"), "arrange_service",
                                       {"service_result": "已送达快递。"})
    callback = with_stand_ins.ready_in(arranged, "callback")

    finished = with_stand_ins.submit(arranged, callback, {"outcome": "unreachable"})

    assert (finished.status, finished.data["outcome"]) == ("completed", "unreachable")


def test_ticket_started_without_system_data_takes_the_current_time(with_stand_ins):
    started = with_stand_ins.engine.start("reception", intake(category="consultation"))

    assert started.data["reported_at"] == MORNING.isoformat()
    assert (started.data["shift"], started.data["escalation_level"]) == ("day", 0)
