"""What the admin console asks of a stored state: where each element stands, and the repairs.

Element states (visits, active elements, called processes) for drawing an instance on its
diagram; editing an open task's data; checking and moving an instance to another version of
its flow. Like ``runtime``, nothing from SpiffWorkflow leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.task import Task, TaskState

from app.engine.history import pruned_of
from app.engine.problems import TaskNotReadyError
from app.engine.runtime import Engine, StepResult, _diagram_process, _latest_data

ACTIVE_MASK = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass
class ElementState:
    """One BPMN element of one diagram: how often it finished, whether it is active now."""

    completed: int = 0
    active: int = 0


@dataclass(frozen=True)
class InstanceMap:
    """Per diagram (BPMN process id): element id -> state; and which call activity calls which process."""

    elements: dict[str, dict[str, ElementState]] = field(default_factory=dict)
    calls: dict[str, dict[str, str]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # the instance's current data


class MigrationRefusedError(Exception):
    """The instance cannot move to the other version; ``reasons`` say why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def instance_map(engine: Engine, state: str) -> InstanceMap:
    """Visits and active elements of every diagram the instance has entered (call activities included)."""
    workflow = engine._load(state)
    result = InstanceMap(data=_latest_data(workflow))
    pruned = pruned_of(workflow)  # rounds of a loop dropped from the tree: their visits, as counts
    for diagram, counts in pruned.visits.items():
        for element_id, count in counts.items():
            result.elements.setdefault(diagram, {}).setdefault(element_id, ElementState()).completed += count
    for diagram, calls in pruned.calls.items():
        result.calls.setdefault(diagram, {}).update(calls)
    for task in _all_tasks(workflow):
        spec = task.task_spec
        if spec.bpmn_id is None:
            continue  # the engine's own joins and start/end markers, not drawn
        diagram = _diagram_process(task)
        element = result.elements.setdefault(diagram, {}).setdefault(spec.bpmn_id, ElementState())
        if task.state == TaskState.COMPLETED:
            element.completed += 1
        elif task.state & ACTIVE_MASK:
            element.active += 1
        if isinstance(spec, CallActivity):
            result.calls.setdefault(diagram, {})[spec.bpmn_id] = str(spec.spec)
    return result


def set_task_data(engine: Engine, state: str, task_id: str, changes: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Change variables of a READY human task; return the new state and the values it replaced.

    Raises TaskNotFoundError, TaskNotReadyError.
    """
    workflow = engine._load(state)
    task = engine._find_task(workflow, task_id)
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskNotReadyError(f"task {task_id} is {TaskState.get_name(task.state)}, not a ready human task")
    before = {name: task.data.get(name) for name in changes}
    task.set_data(**dict(changes))
    return engine.serializer.serialize_json(workflow), before


def migration_problems(engine: Engine, state: str, new_spec_key: str) -> list[str]:
    """Why the instance cannot move to ``new_spec_key`` (an empty list: it can)."""
    workflow = engine._load(state)
    spec, dependencies = engine.specs.get(new_spec_key)
    return _problems(engine, workflow, spec, dependencies)


def migrate(engine: Engine, state: str, new_spec_key: str) -> StepResult:
    """Move the instance onto ``new_spec_key`` and run the engine on; raise MigrationRefusedError.

    Finished elements keep their history; waiting and ready elements are re-predicted from the
    new diagram (they keep their task ids, so the task index stays valid).
    """
    workflow = engine._load(state)
    spec, dependencies = engine.specs.get(new_spec_key)
    problems = _problems(engine, workflow, spec, dependencies)
    if problems:
        raise MigrationRefusedError(problems)
    top_diff, sub_diffs = diff_workflow(engine.registry, workflow, spec, dependencies)

    timers = _waiting_timers(workflow)

    def move() -> None:
        migrate_workflow(top_diff, workflow, spec)
        for sub_id, sub_diff in sub_diffs.items():
            subprocess = workflow.subprocesses[sub_id]
            if sub_diff is not None:
                migrate_workflow(sub_diff, subprocess, dependencies[subprocess.spec.name])
        workflow.subprocess_specs = dependencies
        workflow.spec_key = new_spec_key
        _restore_timers(workflow, timers)

    return engine._advance(workflow, move)


def _problems(engine: Engine, workflow: BpmnWorkflow, spec: Any, dependencies: Mapping[str, Any]) -> list[str]:
    if workflow.spec.name != spec.name:
        return [f"the new version is another process ({spec.name}, not {workflow.spec.name})"]
    top_diff, sub_diffs = diff_workflow(engine.registry, workflow, spec, dependencies)
    problems = [f"active element '{task.task_spec.bpmn_id or task.task_spec.name}' no longer exists in the new "
                "version" for task in top_diff.removed if task.state & ACTIVE_MASK]
    for sub_id, sub_diff in sub_diffs.items():
        subprocess = workflow.subprocesses[sub_id]
        if subprocess.is_completed():
            continue
        if sub_diff is None:
            problems.append(f"running called process '{subprocess.spec.name}' is missing from the new version")
            continue
        problems += [f"active element '{task.task_spec.bpmn_id or task.task_spec.name}' of "
                     f"'{subprocess.spec.name}' no longer exists in the new version"
                     for task in sub_diff.removed if task.state & ACTIVE_MASK]
    return sorted(set(problems))


def _waiting_timers(workflow: BpmnWorkflow) -> dict[Any, tuple[str, Any]]:
    """Each waiting timer's expression and the due time it was given, by task id."""
    timers = {}
    for task in _all_tasks(workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task._get_internal_data("event_value")
        if isinstance(definition, TimerEventDefinition) and task.state == TaskState.WAITING and value is not None:
            timers[task.id] = (definition.expression, value)
    return timers


def _restore_timers(workflow: BpmnWorkflow, timers: Mapping[Any, tuple[str, Any]]) -> None:
    """Migrating re-predicts waiting timers, which would restart a duration ("PT4H") from now: an unchanged
    timer keeps the due time it had."""
    for task in _all_tasks(workflow):
        kept = timers.get(task.id)
        definition = getattr(task.task_spec, "event_definition", None)
        if kept is not None and isinstance(definition, TimerEventDefinition) and definition.expression == kept[0]:
            task._set_internal_data(event_value=kept[1])


def _all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    tasks = list(workflow.tasks.values())
    for subprocess in workflow.subprocesses.values():
        tasks += list(subprocess.tasks.values())
    return tasks
