"""Stored state: a spec key instead of the spec, restored by any engine, and stale task ids refused."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from app.engine import TaskNotFoundError, TaskNotReadyError, parse_count
from tests.engine.conftest import ready_names, ready_task


def test_stored_state_names_its_spec_instead_of_embedding_it(deploy, specs, complete_ready):
    engine = deploy("caller.bpmn", "callee.bpmn")

    picked = complete_ready(engine.start("caller", {}), "pick", {"technician": "zheng"})

    stored = json.loads(picked.state)
    assert stored["spec_key"] == "caller"
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert "task_specs" not in picked.state
    assert "task_specs" in specs["caller"]


def test_another_engine_continues_an_instance_from_its_stored_state(deploy, make_engine, complete_ready):
    engine = deploy("caller.bpmn", "callee.bpmn")
    picked = complete_ready(engine.start("caller", {}), "pick", {"technician": "zheng"})

    other = make_engine()  # empty cache: it must restore the stored serialized spec
    seen = other.inspect(picked.state)
    repaired = other.complete(picked.state, ready_task(seen, "repair").task_id, {"hours": 3})

    assert seen.ready_tasks == picked.ready_tasks
    assert repaired.status == "completed"
    assert repaired.data == {"technician": "zheng", "hours": 3}


def test_running_an_instance_never_parses_a_diagram(deploy, make_engine, clock, complete_ready):
    engine = deploy("caller.bpmn", "callee.bpmn", "timer.bpmn")
    parses_after_deploy = parse_count()

    picked = complete_ready(engine.start("caller", {}), "pick", {"technician": "zheng"})
    engine.inspect(picked.state)
    other = make_engine()
    other.complete(picked.state, ready_task(other.inspect(picked.state), "repair").task_id, {"hours": 1})
    waiting = engine.start("timer_demo", {})
    clock.set(waiting.next_timer_at + timedelta(minutes=1))
    escalated = other.fire_due_timers(waiting.state)

    assert ready_names(escalated) == ["escalate"]
    assert parse_count() == parses_after_deploy


def test_task_details_show_the_task_data_and_raw_instructions(deploy, complete_ready):
    engine = deploy("lanes.bpmn")
    recorded = complete_ready(engine.start("lanes_demo", {}), "record", {"summary": "电梯故障"})

    data, instructions = engine.task_details(recorded.state, ready_task(recorded, "handle").task_id)

    assert data["summary"] == "电梯故障"
    assert instructions == "Summary: {{ summary }}"


def test_a_task_cannot_be_completed_twice(deploy, complete_ready):
    engine = deploy("lanes.bpmn")
    started = engine.start("lanes_demo", {})
    recorded = complete_ready(started, "record", {"summary": "s"})

    with pytest.raises(TaskNotReadyError):
        engine.complete(recorded.state, ready_task(started, "record").task_id, {"summary": "again"})


def test_a_refused_second_completion_leaves_the_stored_state_usable(deploy, complete_ready):
    engine = deploy("lanes.bpmn")
    started = engine.start("lanes_demo", {})
    recorded = complete_ready(started, "record", {"summary": "s"})
    with pytest.raises(TaskNotReadyError):
        engine.complete(recorded.state, ready_task(started, "record").task_id, {})

    assert ready_names(engine.inspect(recorded.state)) == ["handle"]
    assert complete_ready(recorded, "handle").status == "completed"


def test_a_malformed_task_id_is_not_found(deploy):
    engine = deploy("lanes.bpmn")
    started = engine.start("lanes_demo", {})

    with pytest.raises(TaskNotFoundError):
        engine.complete(started.state, "not-a-task-id", {})
    with pytest.raises(TaskNotFoundError):
        engine.task_details(started.state, "not-a-task-id")


def test_an_unknown_task_id_is_not_found(deploy):
    engine = deploy("lanes.bpmn")
    started = engine.start("lanes_demo", {})

    with pytest.raises(TaskNotFoundError):
        engine.complete(started.state, str(uuid.uuid4()), {})
