"""Deadlines in working time through the shipped flows: a sales complaint gets 5 working days.

The engine reads China's calendar (chinese-calendar, no overrides): 2025's National Day holiday is
1-8 October, with make-up working days on Sunday 28 September and Saturday 11 October.
"""

from __future__ import annotations

import ast
import copy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.clock import ManualClock
from app.engine import Engine
from app.engine.working_time import UNITS, OfficeHours
from app.engine.xml import parse_xml
from app.services.figures.working_calendar import build_calendar
from tests.flows.conftest import ROOT, Flows, ready_names, shipped_texts
from tests.flows.test_complaint_flow import approved_for_work, judged_valid, received
from tests.support.compiling import Compiler

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_BEFORE_NATIONAL_DAY = datetime(2025, 9, 26, 15, 0, tzinfo=SHANGHAI)
FIVE_WORKING_DAYS_LATER = datetime(2025, 10, 10, 15, 0, tzinfo=SHANGHAI)  # 28 Sep, 29, 30, 9 Oct, 10 Oct
A_MINUTE = timedelta(minutes=1)


@pytest.fixture
def flows(compiled: Compiler) -> Flows:
    """The complaint and callback flows on an engine that reads China's working calendar."""
    clock = ManualClock(FRIDAY_BEFORE_NATIONAL_DAY)
    china = build_calendar([], OfficeHours.parse("09:00-18:00"), "Asia/Shanghai")
    deployment = compiled(shipped_texts("complaint.bpmn", "callback.bpmn", "repair.bpmn"))
    assert deployment.problems == []
    specs: dict[str, str] = {}
    engine = Engine(specs.__getitem__, clock, "Asia/Shanghai", lambda: china)
    for process_id, bundle in deployment.bundles.items():
        specs[process_id] = engine.register_bundle(process_id, bundle)
    return Flows(engine, clock, copy.deepcopy(deployment.forms))


def test_a_sales_complaint_from_the_friday_before_national_day_is_due_five_working_days_later(flows):
    dispatched = judged_valid(flows, received(flows), department="sales", complaint_type="sales")

    due = datetime.fromisoformat(dispatched.data["due_at"])
    assert due == FIVE_WORKING_DAYS_LATER
    assert dispatched.next_timer_at == FIVE_WORKING_DAYS_LATER.astimezone(UTC)
    assert (dispatched.data["limit_amount"], dispatched.data["limit_unit"]) == (5, "working_days")
    assert dispatched.data["limit_hours"] == 14 * 24  # the calendar span, for whoever reads hours


def test_the_working_time_deadline_is_followed_up_when_it_passes_and_not_before(flows):
    dispatched = judged_valid(flows, received(flows), department="sales", complaint_type="sales")

    not_yet = flows.later(dispatched, FIVE_WORKING_DAYS_LATER - flows.clock.now() - A_MINUTE)
    assert ready_names(not_yet) == ["contact_and_investigate"]
    overdue = flows.later(not_yet, 2 * A_MINUTE)

    assert ready_names(overdue) == ["contact_and_investigate", "supervisor_follow_up"]
    assert datetime.fromisoformat(flows.task_data(overdue, "supervisor_follow_up")["missed_due_at"]) \
        == FIVE_WORKING_DAYS_LATER


def test_calendar_hour_limits_run_through_the_holiday(flows):
    dispatched = judged_valid(flows, received(flows), complaint_type="leak_crack")  # 168 hours

    assert datetime.fromisoformat(dispatched.data["due_at"]) == FRIDAY_BEFORE_NATIONAL_DAY + timedelta(hours=168)
    assert dispatched.data["limit_unit"] == "hours"


TWO_DAYS = timedelta(days=2)  # a pause inside the cap (setting pause_cap_days): no approval


def test_a_pause_moves_a_working_time_deadline_by_the_calendar_hours_paused(flows):
    approved = approved_for_work(flows, received(flows), department="sales", complaint_type="sales")
    back_by = (flows.clock.now() + TWO_DAYS).isoformat()
    waiting = flows.complete(approved, "implement_solution", {"done_note": "等业主回国签字。", "waiting_for": "owner",
                                                              "pause_until": back_by})

    flows.clock.advance(timedelta(hours=30))
    resumed = flows.complete(waiting, "resume_work", {"resume_note": "业主已回。"})

    moved = FIVE_WORKING_DAYS_LATER + timedelta(hours=30)
    assert datetime.fromisoformat(flows.task_data(resumed, "implement_solution")["due_at"]) == moved
    assert resumed.next_timer_at == moved.astimezone(UTC)


def test_repair_limits_stay_in_calendar_hours(flows):
    started = flows.start("repair", {
        "ticket_number": "KF-20250926-0001", "reported_at": flows.clock.now().isoformat(), "category": "repair",
        "description": "厨房水龙头漏水。", "caller_name": "李女士", "phone": "13900001111", "unit": "5栋-301",
        "part": "plumbing", "urgency": "normal", "emergency": False, "handover_date": "2024-06-01",
        "common_area": False, "escalation_level": 0})

    order = flows.task_data(started, "dispatch_technician")
    assert (order["limit_amount"], order["limit_unit"], order["limit_hours"]) == (72, "hours", 72)
    assert started.next_timer_at == (FRIDAY_BEFORE_NATIONAL_DAY + timedelta(hours=72)).astimezone(UTC)


def limit_units(table: str) -> dict[str, str]:
    """Each rule's ``limit_unit`` cell of a shipped deadline table, by rule id."""
    ns = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    decision_table = parse_xml((ROOT / "bpmn" / table).read_bytes()).find(".//dmn:decisionTable", ns)
    outputs = [output.get("name") for output in decision_table.findall("dmn:output", ns)]
    column = outputs.index("limit_unit")
    return {rule.get("id"): rule.findall("dmn:outputEntry/dmn:text", ns)[column].text
            for rule in decision_table.findall("dmn:rule", ns)}


@pytest.mark.parametrize("table", ["complaint_time_limits.dmn", "repair_time_limits.dmn"])
def test_every_row_of_the_shipped_deadline_tables_names_a_known_unit(table):
    units = limit_units(table)

    assert units and {ast.literal_eval(cell) for cell in units.values()} <= set(UNITS)
    if table == "complaint_time_limits.dmn":
        assert ast.literal_eval(units["Rule_sales"]) == "working_days"
