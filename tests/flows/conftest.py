"""Flow fixtures: the shipped diagrams, tables and forms on an in-memory engine with a manual clock.

No Flask app and no database: ``make_flows("complaint.bpmn", "callback.bpmn")`` compiles the named
diagrams of ``bpmn/`` (with every DMN table and form they use) the way the deploy service does, and
returns a ``Flows`` that starts instances, completes tasks by element id and moves the clock. Every
submission is checked against its form the way the server checks it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from app.engine import Engine, StepResult, UserTaskView
from app.services.work.forms import clean_submission
from tests.support.compiling import Compiler
from tests.support.fixtures import ROLES, START, ready_names  # noqa: F401  (tests import them from here)
from tests.support.paths import ROOT


def shipped_texts(*diagrams: str) -> dict[str, bytes]:
    """The named diagrams of ``bpmn/`` with every shipped DMN table and form (a bundle takes what it names)."""
    texts = {name: (ROOT / "bpmn" / name).read_bytes() for name in diagrams}
    texts |= {path.name: path.read_bytes() for path in sorted((ROOT / "bpmn").glob("*.dmn"))}
    texts |= {path.name: path.read_bytes() for path in sorted((ROOT / "forms").glob("*.json"))}
    return texts


@dataclass
class Flows:
    """An engine with some shipped flows deployed, and the moves a test makes on it."""

    engine: Engine
    clock: ManualClock
    forms: Mapping[str, dict[str, Any]]

    def start(self, process_id: str, data: Mapping[str, Any] | None = None) -> StepResult:
        return self.engine.start(process_id, dict(data or {}))

    def task(self, result: StepResult, element_id: str) -> UserTaskView:
        """The one READY task with this element id; fails the test with what is ready instead."""
        matches = [task for task in result.ready_tasks if task.name == element_id]
        assert len(matches) == 1, f"expected one ready '{element_id}', ready: {ready_names(result)}"
        return matches[0]

    def complete(self, result: StepResult, element_id: str, data: Mapping[str, Any] | None = None) -> StepResult:
        """Submit ``data`` to the READY task ``element_id`` after the server's form check."""
        task = self.task(result, element_id)
        cleaned = clean_submission(self.forms[task.form_key] if task.form_key else None, dict(data or {}))
        return self.engine.complete(result.state, task.task_id, cleaned)

    def task_data(self, result: StepResult, element_id: str) -> dict[str, Any]:
        """The data the READY task ``element_id`` holds (what its form and instructions show)."""
        data, _instructions = self.engine.task_details(result.state, self.task(result, element_id).task_id)
        return data

    def later(self, result: StepResult, delta: timedelta) -> StepResult:
        """Move the clock on by ``delta`` and fire every timer that is then due."""
        self.clock.advance(delta)
        return self.engine.fire_due_timers(result.state)


@pytest.fixture
def make_flows(clock: ManualClock, compiled: Compiler) -> Callable[..., Flows]:
    """``make_flows("complaint.bpmn", "callback.bpmn")``: every bundle of those diagrams, deployed; no problems.

    Compiled once per content for the run; each call gets its own engine and its own copy of the forms.
    """

    def make(*diagrams: str) -> Flows:
        deployment = compiled(shipped_texts(*diagrams))
        assert deployment.problems == []
        specs: dict[str, str] = {}
        engine = Engine(specs.__getitem__, clock)
        for process_id, bundle in deployment.bundles.items():
            specs[process_id] = engine.register_bundle(process_id, bundle)
        return Flows(engine, clock, copy.deepcopy(deployment.forms))

    return make
