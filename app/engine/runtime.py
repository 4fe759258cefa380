"""The engine facade: start, complete and fire timers on serialized workflow state.

Callers hand in a state string and get a ``StepResult`` back; no SpiffWorkflow object
leaves this package. A failure while running never returns a half-run state: it raises
``EngineRunError`` and the caller keeps the state it had. So does a step past its limits
(``limits.py``): more CPU than ``step_cpu_seconds``, or data larger than ``instance_data_max_kb``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BpmnMessageDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.task import Task, TaskState

from app.clock import Clock
from app.engine.bundles import CompiledBundle
from app.engine.history import diagram_of, prune
from app.engine.limits import (
    FLOOR,
    Budget,
    StepLimitError,
    StepLimits,
    data_too_big,
    oversized_data,
    step_budget,
)
from app.engine.problems import (
    EngineRunError,
    MessageNotAwaitedError,
    RunError,
    TaskNotFoundError,
    TaskNotReadyError,
)
from app.engine.scripting import DEFAULT_TIMEZONE, CalendarSource, make_script_engine
from app.engine.serialization import SpecCache, make_registry, make_serializer, serialize_spec
from app.engine.settings import SettingsSource, default_setting
from app.engine.timers import engine_clock

FORM_PROPERTY = "formJsonSchemaFilename"
DEADLINE_PROPERTY = "deadline"
_DEADLINE_KEY = "kefu_deadline"  # the evaluated deadline, kept in the task's internal data


@dataclass(frozen=True)
class UserTaskView:
    """A READY human task, as the rest of the app sees it."""

    task_id: str
    name: str
    title: str
    lane: str | None
    form_key: str | None
    department: str | None
    assignee: str | None
    instructions: str | None
    process_id: str
    due_at: datetime | None


@dataclass(frozen=True)
class StepResult:
    state: str
    status: str  # running | waiting | completed
    ready_tasks: tuple[UserTaskView, ...]
    next_timer_at: datetime | None
    data: Mapping[str, Any]
    awaited_messages: frozenset[str] = frozenset()  # the names of the messages a catch event waits for


class Engine:
    """Holds what is built once and shared: spec cache, serializer, script engine, clock."""

    def __init__(self, spec_loader: Callable[[str], str], clock: Clock, timezone: str = DEFAULT_TIMEZONE,
                 calendar: CalendarSource | None = None, settings: SettingsSource | None = None) -> None:
        self.clock = clock
        self.registry = make_registry()
        self.specs = SpecCache(spec_loader, self.registry)
        self.serializer = make_serializer(self.specs, self.registry)
        self.script_engine = make_script_engine(clock, timezone, calendar, settings)
        self.settings = settings or default_setting

    def register_bundle(self, spec_key: str, bundle: CompiledBundle) -> str:
        """Cache a freshly compiled bundle's specs; return their serialized form for storage."""
        self.specs.put(spec_key, bundle.specs)
        return serialize_spec(self.registry, bundle.specs)

    def start(self, spec_key: str, data: Mapping[str, Any]) -> StepResult:
        spec, subprocess_specs = self.specs.get(spec_key)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.spec_key = spec_key
        start = workflow.get_next_task(state=TaskState.READY)
        if start is not None and data:
            start.set_data(**dict(data))
        return self._advance(workflow, lambda: None)

    def complete(self, state: str, task_id: str, data: Mapping[str, Any]) -> StepResult:
        """Run one READY human task with ``data``; raise TaskNotFound/TaskNotReady/EngineRunError."""
        workflow = self._load(state)
        task = self._find_task(workflow, task_id)
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReadyError(f"task {task_id} is {TaskState.get_name(task.state)}, not a ready human task")

        def run() -> None:
            task.set_data(**dict(data))
            task.run()

        return self._advance(workflow, run)

    def deliver_message(self, state: str, name: str, payload: Mapping[str, Any]) -> StepResult:
        """Hand the message ``name`` with ``payload`` to the catch event waiting for it and run the engine on.

        Raise MessageNotAwaitedError when no event waits for ``name`` now (the flow moved on), and
        EngineRunError when running on fails.
        """
        workflow = self._load(state)
        waiting = [task for task in workflow.event_manager.tasks.values() if _message_name(task) == name]
        if not waiting:
            raise MessageNotAwaitedError(name)
        event = BpmnEvent(waiting[0].task_spec.event_definition, payload=dict(payload))
        return self._advance(workflow, lambda: workflow.catch(event))

    def fire_due_timers(self, state: str) -> StepResult:
        """Fire every timer due at the clock's now and run the engine on."""
        workflow = self._load(state)
        return self._advance(workflow, workflow.refresh_timers)

    def inspect(self, state: str) -> StepResult:
        """The current view of a stored state, without running anything."""
        workflow = self._load(state)
        return self._result(workflow, state)

    def task_details(self, state: str, task_id: str) -> tuple[dict[str, Any], str | None]:
        """The task's current data and its raw instructions (Markdown template)."""
        task = self._find_task(self._load(state), task_id)
        extensions = getattr(task.task_spec, "extensions", {}) or {}
        return dict(task.data), extensions.get("instructionsForEndUser") or task.task_spec.documentation

    def _load(self, state: str) -> BpmnWorkflow:
        workflow = self.serializer.deserialize_json(state)
        workflow.script_engine = self.script_engine  # not persisted; sub-workflows read the top one's
        return workflow

    @staticmethod
    def _find_task(workflow: BpmnWorkflow, task_id: str) -> Task:
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, TaskNotFoundException):
            task = None
        if task is None:
            raise TaskNotFoundError(task_id)
        return task

    def _advance(self, workflow: BpmnWorkflow, step: Callable[[], None]) -> StepResult:
        with engine_clock(self.clock), step_budget(lambda: StepLimits.read(self.settings)) as budget:
            ran: list[Task] = []  # what the engine ran in this step: scripts, gateways, rule tasks, events
            try:
                step()
                workflow.do_engine_steps(did_complete_task=lambda task: _ran(budget, ran, task))
                prune(workflow)  # finished loop rounds: a step's cost and the state stay flat however often it loops
                tasks = _tasks_in_play(workflow)  # walked once for the ready tasks and the latest data
                ready = self._ready_views(workflow, _timer_due_times(workflow), tasks)
                state = self._serialized_within(workflow, budget, ran)
            except SpiffWorkflowException as exc:
                raise EngineRunError(_limit_error(budget, exc) or _describe_spiff_error(exc)) from exc
            except StepLimitError as exc:
                raise EngineRunError(RunError(str(exc), exc.element_id,
                                              trace=(f"{type(exc).__name__}: {exc}",))) from exc
            except Exception as exc:  # a timer value or helper raised something the library did not wrap
                raise EngineRunError(_limit_error(budget, exc) or RunError(
                    f"{type(exc).__name__}: {exc}", _failing_element(exc),
                    trace=tuple(traceback.format_exception_only(exc)))) from exc
            return self._result(workflow, state, ready, tasks)

    def _serialized_within(self, workflow: BpmnWorkflow, budget: Budget, ran: list[Task]) -> str:
        """The state, if the data of the tasks this step ran and then the whole serialized state fit
        ``instance_data_max_kb``; raise StepLimitError.

        The data is measured first, so data that would take long to write (a list that holds itself
        many times over) is refused before the serializer starts.
        """
        if oversized_data(_data_of(workflow, ran), FLOOR.max_bytes) is not None:  # rare: read the limit
            limit = budget.limits.max_bytes
            element_id = oversized_data(_data_of(workflow, ran), limit)
            if element_id is not None:
                raise budget.fail(data_too_big(element_id, "its data", limit))
        state: str = self.serializer.serialize_json(workflow)
        passed = budget.byte_limit_passed(len(state))  # JSON with ASCII escapes: one character is one byte
        if passed is not None:
            last = workflow.last_task
            raise budget.fail(data_too_big(last.task_spec.bpmn_id if last else None, "the saved state", passed))
        return state

    def _result(self, workflow: BpmnWorkflow, state: str, ready: tuple[UserTaskView, ...] | None = None,
                tasks: list[Task] | None = None) -> StepResult:
        due = _timer_due_times(workflow)
        if tasks is None:
            tasks = _tasks_in_play(workflow)
        if ready is None:
            with engine_clock(self.clock):
                ready = self._ready_views(workflow, due, tasks)
        status = "completed" if workflow.is_completed() else ("running" if ready else "waiting")
        awaited = frozenset(filter(None, (_message_name(task) for task in workflow.event_manager.tasks.values())))
        return StepResult(state, status, ready, min(due.values(), default=None), _latest_data(workflow, tasks),
                          awaited)

    def _ready_views(self, workflow: BpmnWorkflow, due: Mapping[UUID, datetime],
                     tasks: list[Task]) -> tuple[UserTaskView, ...]:
        """The views of the ready human tasks, in ``get_tasks``' order (``tasks``: ``_tasks_in_play``)."""
        return tuple(self._view(task, due.get(task.id)) for task in tasks
                     if task.state == TaskState.READY and task.task_spec.manual)

    def _view(self, task: Task, timer_due_at: datetime | None) -> UserTaskView:
        spec = task.task_spec
        extensions = getattr(spec, "extensions", {}) or {}
        properties = extensions.get("properties", {}) or {}
        deadline = self._step_deadline(task, properties.get(DEADLINE_PROPERTY))
        due_at = min((moment for moment in (timer_due_at, deadline) if moment is not None), default=None)
        return UserTaskView(
            task_id=str(task.id),
            name=spec.bpmn_id or spec.name,
            title=spec.bpmn_name or spec.bpmn_id or spec.name,
            lane=spec.lane,
            form_key=properties.get(FORM_PROPERTY) or None,
            department=self._narrowing(task, properties.get("department")),
            assignee=self._narrowing(task, properties.get("assignee")),
            instructions=extensions.get("instructionsForEndUser") or spec.documentation,
            process_id=_diagram_process(task),
            due_at=due_at,
        )

    def _narrowing(self, task: Task, expression: str | None) -> str | None:
        if not expression:
            return None
        value = self.script_engine.evaluate(task, expression)
        return None if value in (None, "") else str(value)

    def _step_deadline(self, task: Task, expression: str | None) -> datetime | None:
        """The task's own ``deadline`` (an ISO 8601 time), evaluated once, when the task first became ready.

        Kept in the task's internal data (serialized with the state), so a later look at the same
        task gives the same moment instead of re-reading ``now()``.
        """
        if not expression:
            return None
        stored = task._get_internal_data(_DEADLINE_KEY)
        if not isinstance(stored, str):
            value = self.script_engine.evaluate(task, expression)
            if value in (None, ""):
                return None
            stored = str(value)
            task._set_internal_data(**{_DEADLINE_KEY: stored})
        return cast(datetime | None, TimerEventDefinition.get_datetime(stored))  # SpiffWorkflow is untyped


def _ran(budget: Budget, ran: list[Task], task: Task) -> None:
    """After each task the engine ran: noted for the data check; a loop in the diagram itself is held to
    the CPU budget too."""
    ran.append(task)
    try:
        budget.check_cpu()
    except StepLimitError as exc:
        exc.element_id = task.task_spec.bpmn_id
        raise


def _limit_error(budget: Budget, exc: BaseException) -> RunError | None:
    """The step's failure as the limit it passed (the library wraps a script's error in its own)."""
    if budget.exceeded is None:
        return None
    details = _describe_spiff_error(exc) if isinstance(exc, SpiffWorkflowException) else None
    element_id = details.element_id if details else _failing_element(exc)
    return RunError(str(budget.exceeded), element_id, details.line if details else None,
                    (f"{type(budget.exceeded).__name__}: {budget.exceeded}", *(details.trace if details else ())))


def _data_of(workflow: BpmnWorkflow, ran: list[Task]) -> Iterator[tuple[str | None, Any]]:
    """The data of the tasks the step ran, the last first (a script's data is copied into the tasks after
    it, but it is the script that built it), of the task the step completed, and of each workflow.
    Tasks the step did not run hold what an earlier step measured."""
    for task in (*reversed(ran), workflow.last_task):
        if task is not None:
            yield task.task_spec.bpmn_id, task.data
    for subprocess in (workflow, *workflow.subprocesses.values()):
        yield None, subprocess.data


def _timer_due_times(workflow: BpmnWorkflow) -> dict[UUID, datetime]:
    """Due time of every waiting timer, keyed by the task it guards (or by its own id)."""
    due: dict[UUID, datetime] = {}
    for waiting in workflow.event_manager.tasks.values():
        definition = waiting.task_spec.event_definition
        value = waiting._get_internal_data("event_value")
        if not isinstance(definition, TimerEventDefinition) or not isinstance(value, str):
            continue
        moment = TimerEventDefinition.get_datetime(value)  # as the engine reads it (naive = server-local)
        guarded = []
        if isinstance(waiting.parent.task_spec, BoundaryEventSplit):
            guarded = [task for child in waiting.parent.children for task in _human_tasks_under(workflow, child)]
        for task in guarded or [waiting]:
            due[task.id] = min(moment, due.get(task.id, moment))
    return due


def _message_name(task: Task) -> str | None:
    """The message a waiting catch event (intermediate or boundary) waits for, or None for other events."""
    definition = getattr(task.task_spec, "event_definition", None)
    return definition.name if isinstance(definition, BpmnMessageDefinition) else None


def _describe_spiff_error(exc: SpiffWorkflowException) -> RunError:
    task = getattr(exc, "task", None)
    task_spec = task.task_spec if task is not None else getattr(exc, "task_spec", None)
    element_id = getattr(task_spec, "bpmn_id", None)
    trace = tuple(getattr(exc, "task_trace", []) or ())
    line = getattr(exc, "line_number", None) or None
    message = str(exc).removesuffix("()").strip()
    return RunError(message, element_id, int(line) if line else None, tuple(str(t) for t in trace))


def _failing_element(exc: BaseException) -> str | None:
    """The BPMN element whose code raised ``exc``, read from the traceback.

    SpiffWorkflow lets a bad timer value escape as a bare ValueError, without the task;
    its event definitions receive the task as ``my_task``, so the innermost frame that
    holds one names the element.
    """
    element_id = None
    tb = exc.__traceback__
    while tb is not None:
        task = tb.tb_frame.f_locals.get("my_task")
        if isinstance(task, Task):
            element_id = task.task_spec.bpmn_id
        tb = tb.tb_next
    return element_id


_MOVED = TaskState.READY | TaskState.COMPLETED | TaskState.WAITING


def _tasks_in_play(workflow: BpmnWorkflow) -> list[Task]:
    """The tasks ``workflow.get_tasks(state=...)`` visits for a state among FUTURE to CANCELLED (not MAYBE or LIKELY),
    in its order, before filtering: depth first from the root, a sub-process's tasks before the children of the task
    that runs it, and not below a task that is only predicted. One walk of the tree, without the library's iterator
    (which re-checks depth and filters each task): each step needs two of these lists (ready tasks, latest data)."""
    subprocesses = workflow.subprocesses
    found: list[Task] = []
    stack = [workflow.task_tree]
    while stack:
        task = stack.pop()
        found.append(task)
        subprocess = subprocesses.get(task.id)
        if subprocess is not None:
            stack.extend(reversed([subprocess.task_tree, *task.children]))
        elif task._children and task.state >= TaskState.FUTURE:
            stack.extend(reversed(task.children))
    return found


def _latest_data(workflow: BpmnWorkflow, tasks: list[Task] | None = None) -> dict[str, Any]:
    """The data of the task that moved last, in the top workflow or any sub-process or call activity.

    The top workflow's ``last_task`` does not see steps inside sub-processes, so a ticket would
    show a stale stage while a called flow is running. ``tasks``: ``_tasks_in_play``.
    """
    if workflow.is_completed() and workflow.last_task is not None:
        return dict(workflow.last_task.data)
    moved = [task for task in (_tasks_in_play(workflow) if tasks is None else tasks) if task.state & _MOVED
             and task.task_spec.bpmn_id is not None]  # skip the engine's internal joins, which hold no data
    latest = max(moved, key=lambda task: task.last_state_change, default=None)
    return dict(latest.data) if latest is not None else dict(workflow.data)


def _diagram_process(task: Task) -> str:
    """The BPMN process whose diagram holds the task: a called process, not an embedded sub-process."""
    return diagram_of(task.workflow)


def _human_tasks_under(workflow: BpmnWorkflow, task: Task) -> list[Task]:
    """The task itself if it is a human task; the ready human tasks inside it if it is a sub-process."""
    if task.task_spec.manual:
        return [task]
    subprocess = workflow.subprocesses.get(task.id)
    if subprocess is None:
        return []
    return list(subprocess.get_tasks(state=TaskState.READY, manual=True))
