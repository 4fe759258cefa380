"""Every human step of the four shipped flows has a due time when it becomes ready.

Random walks (fixed seeds) through reception and everything it calls: each ready task is answered
with data its own form accepts (every writable field filled, booleans and choices drawn at random),
and the clock sometimes jumps days ahead so boundary timers (follow-ups, chases) fire too. Every task
that becomes ready must have a ``due_at``; and the walks must have met every user task of the four
diagrams, so no step escapes the check. ``--deadline-walks=2000`` (or ``KEFU_DEADLINE_WALKS``) takes more walks.
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from app.clock import ManualClock
from app.engine import Engine, StepResult, UserTaskView
from app.services.errors import InvalidFormError
from app.services.work.forms import clean_submission
from tests.flows.conftest import ROOT, START, Flows, shipped_texts
from tests.support.compiling import Compiler

DIAGRAMS = ("reception.bpmn", "complaint.bpmn", "repair.bpmn", "callback.bpmn")
CATEGORIES = ("repair", "complaint", "consultation", "life_service", "suggestion", "praise", "other")
SHANGHAI = ZoneInfo("Asia/Shanghai")
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
WALKS, STEPS, TRIES = 160, 60, 8
RARELY_YES = ("withdraw", "send_back", "reschedule", "cancel", "refuse")


def user_tasks_of(diagram: str) -> set[str]:
    tree = etree.parse(str(ROOT / "bpmn" / diagram))
    return {task.get("id") for task in tree.iter(f"{BPMN}userTask")}


def value_for(name: str, spec: dict[str, Any], rng: random.Random, now: datetime, yes: float) -> Any:
    """A value the field accepts; choices at random, booleans true with the walk's chance ``yes``."""
    if "const" in spec:
        return spec["const"]
    if "oneOf" in spec or "enum" in spec:
        return rng.choice([option["const"] for option in spec["oneOf"]] if "oneOf" in spec else spec["enum"])
    kind = spec.get("type")
    if kind == "boolean":  # a way out of the flow (withdrawn, sent back) only now and then, or no walk gets far
        return rng.random() < (0.1 if any(word in name for word in RARELY_YES) else yes)
    if kind in ("number", "integer"):
        return spec.get("default", max(spec.get("minimum", 0), 1 if kind == "integer" else 100.0))
    if spec.get("format") == "date-time":
        ahead = timedelta(days=rng.choice([1, 6]))  # a pause's planned end inside the cap or past it
        local = (now + ahead).astimezone(SHANGHAI).replace(hour=10, minute=0, second=0, microsecond=0)
        while local.weekday() >= 5:
            local += timedelta(days=1)
        return local.isoformat()
    if spec.get("x-widget") == "phone":
        return "13812345678"
    if spec.get("x-widget") == "user":
        return "tech"
    if spec.get("x-widget") == "signature":
        return "files/signature-0001.png"
    return "已处理：" + name


def submission(form: dict[str, Any] | None, rng: random.Random, now: datetime, yes: float) -> dict[str, Any]:
    if form is None:
        return {}
    return {name: value_for(name, spec, rng, now, yes) for name, spec in (form.get("properties") or {}).items()
            if not spec.get("readOnly") and (name in form.get("required", []) or rng.random() < 0.8)}


def start_ticket(flows: Flows, rng: random.Random) -> StepResult:
    night = rng.random() < 0.25
    flows.clock.set(START + timedelta(days=rng.randrange(5), hours=14 if night else rng.randrange(8)))
    category = rng.choice(CATEGORIES + ("complaint", "repair") * 3)
    intake = {"project": "翠湖花园", "unit": "3栋-1202", "caller_name": "王先生", "phone": "13812345678",
              "channel": "online" if category == "suggestion" else "hotline", "category": category,
              "description": "卫生间地面渗水到楼下。",
              "urgency": rng.choice(["normal", "urgent"]), "emergency": night and rng.random() < 0.5}
    if category == "complaint":
        intake["complaint_type"] = rng.choice(["leak_crack", "safety", "sales", "property_service"])
    if category == "repair":
        intake["part"] = rng.choice(["roof_waterproof", "plumbing", "electrical"])
    data = clean_submission(flows.forms["reception_intake.json"], intake)
    system = {"ticket_number": "KF-20260302-0001", "reported_at": flows.clock.now().isoformat(),
              "handover_date": rng.choice(["2024-06-30", "2012-06-30"]), "common_area": False, "reopened_from": None,
              "escalation_level": 0, "rework_count": 0}
    return flows.start("reception", {**data, **system})


def step(flows: Flows, result: StepResult, rng: random.Random, yes: float) -> StepResult | None:
    """One move: answer a ready task, or let time pass; None when the walk cannot go on."""
    if result.ready_tasks and (result.next_timer_at is None or rng.random() < 0.75):
        task = rng.choice(result.ready_tasks)
        form = flows.forms.get(task.form_key) if task.form_key else None
        for _ in range(TRIES):
            try:
                data = clean_submission(form, submission(form, rng, flows.clock.now(), yes))
                return flows.engine.complete(result.state, task.task_id, data)
            except InvalidFormError:
                continue
        return None
    if result.next_timer_at is None:
        return None
    flows.clock.set(max(flows.clock.now(), result.next_timer_at) + timedelta(minutes=1))
    return flows.engine.fire_due_timers(result.state)


class WalkingEngine(Engine):
    """The engine as the walks drive it: every step still runs and serializes as in production (so the serializer
    and the size limit see every state), but the next step goes on from the workflow in memory instead of reading
    the string back (that took 8 of the 18 CPU seconds of the 160 walks). ``read_back`` reads a state back the
    production way. Checked when this was written: with the plain ``Engine`` the 160 walks meet the same 1,768
    ready tasks, in the same order, with the same due times, forms and lanes (``deployed(..., engine=Engine)``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._live: dict[str, Any] = {}

    def _serialized_within(self, workflow: Any, *args: Any) -> str:
        state = super()._serialized_within(workflow, *args)
        self._live = {state: workflow}  # a walk only ever goes on from its last state
        return state

    def _load(self, state: str) -> Any:
        live = self._live.pop(state, None)
        return live if live is not None else super()._load(state)

    def read_back(self, state: str) -> StepResult:
        self._live = {}
        return self.inspect(state)


def deployed(compiled: Compiler, *diagrams: str, engine: type[Engine] = WalkingEngine) -> Flows:
    """The shipped diagrams on one engine for the whole module (as ``make_flows`` does, once)."""
    clock = ManualClock(START)
    deployment = compiled(shipped_texts(*diagrams))
    assert deployment.problems == []
    specs: dict[str, str] = {}
    walking = engine(specs.__getitem__, clock)
    for process_id, bundle in deployment.bundles.items():
        specs[process_id] = walking.register_bundle(process_id, bundle)
    return Flows(walking, clock, deployment.forms)  # the walks only read the forms


def walk(flows: Flows, seed: int) -> list[UserTaskView]:
    """Every task that is ready after each step of walk ``seed``, in order, from its start to its last step.

    The last state that had ready tasks is then read back as the server reads a stored instance: it must show the
    same tasks with the same due times.
    """
    rng = random.Random(seed)
    yes = rng.choice([0.2, 0.5, 0.8])
    met: list[UserTaskView] = []
    last_ready: StepResult | None = None
    result: StepResult | None = start_ticket(flows, rng)
    for _ in range(STEPS):
        if result is None or result.status == "completed":
            break
        met.extend(result.ready_tasks)
        last_ready = result if result.ready_tasks else last_ready
        result = step(flows, result, rng, yes)
    if last_ready is not None and isinstance(flows.engine, WalkingEngine):
        stored = flows.engine.read_back(last_ready.state).ready_tasks
        assert [(task.task_id, task.due_at) for task in stored] == \
            [(task.task_id, task.due_at) for task in last_ready.ready_tasks], f"walk {seed}: read back differs"
    return met


def walks(config: pytest.Config) -> int:
    chosen = config.getoption("--deadline-walks", default=None) or os.environ.get("KEFU_DEADLINE_WALKS")
    return int(chosen) if chosen else WALKS


@pytest.fixture(scope="module")
def walked(compiled: Compiler, pytestconfig: pytest.Config) -> tuple[set[str], list[str]]:
    """Every element id that became ready on the walks, and every ready task seen without a due time."""
    flows = deployed(compiled, *DIAGRAMS)
    seen: set[str] = set()
    undated: list[str] = []
    for seed in range(walks(pytestconfig)):
        for task in walk(flows, seed):
            seen.add(task.name)
            if task.due_at is None:
                undated.append(f"{task.process_id}:{task.name} (walk {seed})")
    return seen, undated


def test_every_task_that_becomes_ready_has_a_due_time(walked):
    _seen, undated = walked
    assert undated == []


def test_the_walks_meet_every_user_task_of_the_four_flows(walked):
    seen, _undated = walked
    every_task = set().union(*(user_tasks_of(diagram) for diagram in DIAGRAMS))
    assert every_task - seen == set()
