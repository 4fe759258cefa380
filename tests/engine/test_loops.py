"""A loop in a diagram: each round adds tasks below the last, and the engine drops the finished rounds it can
no longer need when it writes the state (app/engine/history.py), so a long loop neither grows the state nor
breaks the instance, and its diagram still counts every round."""

from __future__ import annotations

import json
from datetime import timedelta

import app.engine.runtime
from app.engine import instance_map
from tests.engine.conftest import ready_task
from tests.support.paths import FIXTURES

# Kept out of tests/fixtures/ itself: the deploy tests count the processes found there.
LOOP = {"rework_loop.bpmn": (FIXTURES / "loops" / "rework_loop.bpmn").read_bytes()}
ROUNDS = 250  # unpruned, this diagram fails with RecursionError at round 190 (SpiffWorkflow walks up recursively)


def test_a_loop_run_two_hundred_and_fifty_times_still_finishes_with_its_data_and_every_round_counted(deploy, clock):
    engine = deploy("rework_loop.bpmn", replace=LOOP)
    result = engine.start("rework_loop", {"ticket": "KF-1"})
    sizes = []
    for round_ in range(1, ROUNDS + 1):
        if round_ == 3:  # a reminder fires while a round waits: the boundary branch ends on its own
            clock.advance(timedelta(hours=2))
            result = engine.fire_due_timers(result.state)
        result = engine.complete(result.state, ready_task(result, "judge").task_id, {"valid": round_ == ROUNDS})
        sizes.append(len(result.state))

    closed = engine.complete(result.state, ready_task(result, "close").task_id, {"note": "done"})

    assert closed.status == "completed"
    # the reminder's branch ended on its own: its count stays on that branch, as it does unpruned
    assert (closed.data["rounds"], closed.data["reminders"], closed.data["ticket"]) == (ROUNDS, 0, "KF-1")
    assert max(sizes[20:]) < 1.1 * sizes[19]  # the last round is stored in the space of round 20
    drawn = instance_map(engine, closed.state).elements["rework_loop"]
    assert {element: drawn[element].completed for element in ("set_up", "judge", "count", "note_reminder",
                                                              "order", "close")} == {
        "set_up": 1, "judge": ROUNDS, "count": ROUNDS, "note_reminder": 1, "order": 1, "close": 1}


def test_a_short_loop_is_stored_whole(deploy):
    engine = deploy("rework_loop.bpmn", replace=LOOP)
    result = engine.start("rework_loop", {})
    for _ in range(3):
        result = engine.complete(result.state, ready_task(result, "judge").task_id, {"valid": False})

    assert "pruned" not in json.loads(result.state)  # nothing dropped: written as SpiffWorkflow writes it
    assert instance_map(engine, result.state).elements["rework_loop"]["judge"].completed == 3


def test_pruned_or_not_a_loop_gives_the_same_tasks_data_and_visits(deploy, make_engine, clock, monkeypatch):
    def walk(engine):
        result, seen = engine.start("rework_loop", {}), []
        for round_ in range(1, 61):  # 60 rounds: deep enough to prune, shallow enough to run unpruned
            if round_ % 7 == 0:
                clock.advance(timedelta(hours=2))
                result = engine.fire_due_timers(result.state)
            result = engine.complete(result.state, ready_task(result, "judge").task_id, {"valid": round_ == 60})
            seen.append((result.status, [task.name for task in result.ready_tasks], result.data))
        result = engine.complete(result.state, ready_task(result, "close").task_id, {"note": "done"})
        drawn = instance_map(engine, result.state)
        return seen, result.data, {element: state.completed for element, state in drawn.elements["rework_loop"].items()}

    engine = deploy("rework_loop.bpmn", replace=LOOP)
    pruned = walk(engine)
    monkeypatch.setattr(app.engine.runtime, "prune", lambda workflow: 0)
    whole = walk(make_engine())

    assert pruned == whole
    assert pruned[2]["judge"] == 60

