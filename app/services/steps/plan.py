"""Planning an engine step's rows and the transaction around them; ``step_writer`` writes them.

This is the hot path of every task completion, so it uses plain Core (no ORM unit of work)
and the instance's ``lock_version`` is checked by hand: an UPDATE that matches no row means
someone else moved the instance first, and the caller gets a 409.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, true
from sqlalchemy.exc import OperationalError

from app.engine import RunError, StepResult, UserTaskView
from app.extensions import db
from app.models import HumanTaskState, InstanceStatus, User
from app.services.access import Actor
from app.services.errors import ConflictError
from app.services.runtime import BundleFacts
from app.services.steps.job_rows import sync_timer_job
from app.services.steps.write import (
    CONFLICT_MESSAGE,
    EVENTS,
    INSTANCES,
    TASK_IS_OPEN,
    TASKS,
    UNKNOWN,
    StepWrite,
    write_start,
)
from app.services.work.staffing import stand_in_scope

USERS = User.__table__



@dataclass(frozen=True)
class TaskSnapshot:
    """A row of the task index as callers see it (plain values, safe after the session is gone)."""

    id: str
    instance_id: int
    process_id: str
    element_id: str
    title: str
    role: str | None
    department: str | None
    assignee: str | None
    claimed_by_id: int | None
    claimed_by: str | None
    state: str
    form_key: str | None
    created_at: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class InstanceOutcome:
    instance_id: int
    status: str
    open_tasks: list[TaskSnapshot]


_CLAIMER = USERS.alias("claimer")
TASK_COLUMNS = (TASKS.c.id, TASKS.c.instance_id, TASKS.c.process_id, TASKS.c.element_id, TASKS.c.title,
                TASKS.c.role, TASKS.c.department, TASKS.c.assignee, TASKS.c.claimed_by_id,
                _CLAIMER.c.username.label("claimed_by"), TASKS.c.state, TASKS.c.form_key, TASKS.c.created_at,
                TASKS.c.due_at)
TASKS_WITH_CLAIMER = TASKS.outerjoin(_CLAIMER, _CLAIMER.c.id == TASKS.c.claimed_by_id)


def snapshot_of_row(row: Any) -> TaskSnapshot:
    """A TaskSnapshot from a Core row selected with TASK_COLUMNS."""
    return TaskSnapshot(*row[:len(TASK_COLUMNS)])


def open_tasks_of(instance_id: int) -> list[TaskSnapshot]:
    rows = _connection().execute(
        select(*TASK_COLUMNS).select_from(TASKS_WITH_CLAIMER)
        .where(TASKS.c.instance_id == instance_id, TASK_IS_OPEN)
        .order_by(TASKS.c.created_at, TASKS.c.id)
    )
    return [snapshot_of_row(row) for row in rows]


def insert_started(*, bundle_id: int, process_id: str, spec_key: str, result: StepResult | None,
                   error: RunError | None, started_by_id: int | None, now: datetime, project_key: str | None,
                   facts: BundleFacts, events: list[dict[str, Any]]) -> tuple[int, list[TaskSnapshot]]:
    """A started instance's rows: the instance, its open tasks and ``events`` (``event_row``s; their instance id is
    the new instance's); returns its id and its open tasks. PostgreSQL: one statement (``write.write_start``)."""
    values = {"bundle_id": bundle_id, "process_id": process_id, "spec_key": spec_key, "started_by_id": started_by_id,
              "started_at": now, "lock_version": 1, "project_key": project_key}
    if result is not None:
        values |= {"status": result.status, "state": result.state, "next_timer_at": result.next_timer_at,
                   "ended_at": now if result.status == InstanceStatus.COMPLETED else None}
    else:
        values |= {"status": InstanceStatus.ERROR, "state": "", "error": error_details(error)}
    connection = _connection()
    views = list(result.ready_tasks) if result is not None else []
    if connection.dialect.name == "postgresql":
        rows = [task_row(task) for task in new_task_snapshots(0, views, facts, now)]  # the statement sets the id
        instance_id = write_start(connection, values, rows, events)
        snapshots = new_task_snapshots(instance_id, views, facts, now)
    else:
        instance_id = int(connection.execute(_INSERT_INSTANCE, values).scalar_one())
        connection.execute(_INSERT_EVENT, [{**event, "instance_id": instance_id} for event in events])
        snapshots = new_task_snapshots(instance_id, views, facts, now)
        if snapshots:
            connection.execute(_INSERT_TASKS, [task_row(snapshot) for snapshot in snapshots])
    if result is not None and result.next_timer_at is not None:
        sync_timer_job(connection, instance_id, result.next_timer_at, result.status, now)
    return instance_id, snapshots


# Built once, run with the row as parameters (building and keying a statement per start costs more than running it).
_INSERT_INSTANCE = insert(INSTANCES).returning(INSTANCES.c.id)
_INSERT_TASKS = insert(TASKS)
_INSERT_EVENT = insert(EVENTS)


def plan_step(*, instance_id: int, lock_version: int, result: StepResult, facts: BundleFacts, now: datetime,
              open_tasks: Iterable[TaskSnapshot],
              previous_timer_at: Any = UNKNOWN, previous_status: Any = UNKNOWN) -> tuple[StepWrite, list[TaskSnapshot]]:
    """The rows a step writes (new state, cancelled and new tasks), and the tasks open after it.

    ``previous_timer_at`` and ``previous_status``, when the caller read them, spare writes the step does not change.
    """
    open_tasks = list(open_tasks)
    ready = {view.task_id for view in result.ready_tasks}
    known = {task.id for task in open_tasks}
    new_tasks = new_task_snapshots(instance_id, [v for v in result.ready_tasks if v.task_id not in known], facts, now)
    step = StepWrite(
        instance_id, lock_version, now,
        instance_values={"state": result.state, "status": result.status, "next_timer_at": result.next_timer_at,
                         "error": None, "ended_at": now if result.status == InstanceStatus.COMPLETED else None},
        cancelled_task_ids=[task.id for task in open_tasks if task.id not in ready],
        new_tasks=[task_row(snapshot) for snapshot in new_tasks],
        previous_timer_at=previous_timer_at, previous_status=previous_status,
    )
    return step, [task for task in open_tasks if task.id in ready] + new_tasks


def plan_error(*, instance_id: int, lock_version: int, error: RunError, now: datetime) -> StepWrite:
    """The step failed: keep the previous state, put the instance in ``error`` with the details."""
    return StepWrite(instance_id, lock_version, now,
                     instance_values={"status": InstanceStatus.ERROR, "error": error_details(error),
                                      "next_timer_at": None})


def new_task_snapshots(instance_id: int, views: list[UserTaskView], facts: BundleFacts,
                       now: datetime) -> list[TaskSnapshot]:
    return [
        TaskSnapshot(view.task_id, instance_id, view.process_id, view.name, view.title,
                     facts.lane_roles.get(view.lane or "", view.lane), view.department, view.assignee, None, None,
                     HumanTaskState.OPEN, view.form_key, now, view.due_at)
        for view in views
    ]


def task_row(s: TaskSnapshot) -> dict[str, Any]:
    return {"id": s.id, "instance_id": s.instance_id, "process_id": s.process_id, "element_id": s.element_id,
            "title": s.title, "role": s.role, "department": s.department, "assignee": s.assignee,
            "state": s.state, "form_key": s.form_key, "created_at": s.created_at, "due_at": s.due_at}


def event_row(instance_id: int, action: str, *, at: datetime, actor_id: int | None = None,
              task_id: str | None = None, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"instance_id": instance_id, "task_id": task_id, "actor_id": actor_id, "action": action,
            "data": dict(data) if data is not None else None, "at": at}


def error_details(error: RunError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"message": error.message, "element_id": error.element_id, "line": error.line, "trace": list(error.trace)}


def record_event(instance_id: int, action: str, *, at: datetime, actor_id: int | None = None,
                 task_id: str | None = None, data: Mapping[str, Any] | None = None) -> None:
    _connection().execute(_INSERT_EVENT, event_row(instance_id, action, at=at, actor_id=actor_id, task_id=task_id,
                                                    data=data))


def _connection() -> Connection:
    return db.session.connection()


_transaction_depth: ContextVar[int] = ContextVar("step_transaction_depth", default=0)


@contextlib.contextmanager
def step_transaction() -> Iterator[None]:
    """Everything written inside commits together or not at all; lock contention becomes a 409.

    Nested use (a step that starts another instance, e.g. a reopened complaint) joins the
    outer transaction: only the outermost commits.
    """
    depth = _transaction_depth.get()
    token = _transaction_depth.set(depth + 1)
    try:
        yield
        if depth == 0:
            db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        if not _is_lock_error(exc):
            raise
        raise ConflictError(CONFLICT_MESSAGE) from exc
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _transaction_depth.reset(token)


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "could not serialize" in text


def task_scope(scope: str, user: Actor) -> Any:
    """Which open tasks a list shows: ``mine`` (claimed by or assigned to me), ``group`` (unclaimed,
    unassigned, of my roles and departments, and those nobody may do of the lanes I supervise), anything
    else: all. ``group`` reads the task's project: the query must join what it is read from
    (``staffing.with_projects``)."""
    if scope == "mine":
        return or_(TASKS.c.claimed_by_id == user.id, TASKS.c.assignee == user.username)
    if scope == "group":
        department_ok = or_(TASKS.c.department.is_(None), TASKS.c.department.in_(user.department_keys))
        return or_(and_(TASKS.c.claimed_by_id.is_(None), TASKS.c.assignee.is_(None),
                        TASKS.c.role.in_(user.role_keys), department_ok), stand_in_scope(user))
    return true()
