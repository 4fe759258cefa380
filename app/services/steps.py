"""Writing an engine step: instance state, task index and audit log in one transaction.

This is the hot path of every task completion, so it writes with plain Core statements
(no ORM unit of work) and checks the instance's ``lock_version`` itself: an UPDATE that
matches no row means someone else moved the instance first, and the caller gets a 409.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Update, bindparam, insert, select, update
from sqlalchemy.exc import OperationalError

from app.engine import RunError, StepResult, UserTaskView
from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance, User
from app.services.errors import ConflictError
from app.services.runtime import BundleFacts

USERS = User.__table__
TASKS = HumanTask.__table__
INSTANCES = ProcessInstance.__table__
EVENTS = AuditEvent.__table__

# Built once: these run on every task completion, where building and ORM-routing a statement
# per call costs more than the database round trip itself.
_SAVE_STATE = (
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("b_id"), INSTANCES.c.lock_version == bindparam("b_version"))
    .values(lock_version=bindparam("b_new_version"), state=bindparam("state"), status=bindparam("status"),
            next_timer_at=bindparam("next_timer_at"), error=bindparam("error"), ended_at=bindparam("ended_at"))
)
_SAVE_ERROR = (
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("b_id"), INSTANCES.c.lock_version == bindparam("b_version"))
    .values(lock_version=bindparam("b_new_version"), status="error", error=bindparam("error"), next_timer_at=None)
)
_COMPLETE_TASK = (
    update(TASKS).where(TASKS.c.id == bindparam("b_id"))
    .values(state="completed", completed_at=bindparam("completed_at"), completed_by_id=bindparam("completed_by_id"))
)
_INSERT_TASK = insert(TASKS)
_INSERT_EVENT = insert(EVENTS)

CONFLICT_MESSAGE = "此工单刚被其他人更新，请刷新后重试 / someone else just changed this; reload and try again"


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
        .where(TASKS.c.instance_id == instance_id, TASKS.c.state == "open").order_by(TASKS.c.created_at, TASKS.c.id)
    )
    return [snapshot_of_row(row) for row in rows]


def insert_instance(*, bundle_id: int, process_id: str, spec_key: str, result: StepResult | None,
                    error: RunError | None, started_by_id: int, now: datetime) -> int:
    values = {"bundle_id": bundle_id, "process_id": process_id, "spec_key": spec_key, "started_by_id": started_by_id,
              "started_at": now, "lock_version": 1}
    if result is not None:
        values |= {"status": result.status, "state": result.state, "next_timer_at": result.next_timer_at,
                   "ended_at": now if result.status == "completed" else None}
    else:
        values |= {"status": "error", "state": "", "error": error_details(error)}
    return int(_connection().execute(insert(INSTANCES).values(values).returning(INSTANCES.c.id)).scalar_one())


def save_step(*, instance_id: int, lock_version: int, result: StepResult, facts: BundleFacts, now: datetime,
              open_tasks: Iterable[TaskSnapshot]) -> list[TaskSnapshot]:
    """Store the new state (checking the lock version) and sync the open tasks; return those open after."""
    _update_instance(_SAVE_STATE, instance_id, lock_version, state=result.state, status=result.status,
                     next_timer_at=result.next_timer_at, error=None,
                     ended_at=now if result.status == "completed" else None)
    ready = {view.task_id for view in result.ready_tasks}
    still_open = [task for task in open_tasks if task.id in ready]
    gone = [task.id for task in open_tasks if task.id not in ready]
    if gone:
        _connection().execute(update(TASKS).where(TASKS.c.id.in_(gone), TASKS.c.state == "open")
                              .values(state="cancelled", completed_at=now))
    known = {task.id for task in open_tasks}
    return still_open + insert_tasks(instance_id, [v for v in result.ready_tasks if v.task_id not in known],
                                     facts, now)


def insert_tasks(instance_id: int, views: list[UserTaskView], facts: BundleFacts, now: datetime) -> list[TaskSnapshot]:
    snapshots = [
        TaskSnapshot(view.task_id, instance_id, view.process_id, view.name, view.title,
                     facts.lane_roles.get(view.lane or "", view.lane), view.department, view.assignee, None, None,
                     "open", view.form_key, now, view.due_at)
        for view in views
    ]
    if snapshots:
        _connection().execute(_INSERT_TASK, [
            {"id": s.id, "instance_id": s.instance_id, "process_id": s.process_id, "element_id": s.element_id,
             "title": s.title, "role": s.role, "department": s.department, "assignee": s.assignee,
             "state": "open", "form_key": s.form_key, "created_at": now, "due_at": s.due_at}
            for s in snapshots
        ])
    return snapshots


def complete_task_row(task_id: str, *, user_id: int, now: datetime) -> None:
    _connection().execute(_COMPLETE_TASK, {"b_id": task_id, "completed_at": now, "completed_by_id": user_id})


def save_error(*, instance_id: int, lock_version: int, error: RunError) -> None:
    """The step failed: keep the previous state, put the instance in ``error`` with the details."""
    _update_instance(_SAVE_ERROR, instance_id, lock_version, error=error_details(error))


def error_details(error: RunError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"message": error.message, "element_id": error.element_id, "line": error.line, "trace": list(error.trace)}


def record_event(instance_id: int, action: str, *, at: datetime, actor_id: int | None = None,
                 task_id: str | None = None, data: Mapping[str, Any] | None = None) -> None:
    _connection().execute(_INSERT_EVENT, {
        "instance_id": instance_id, "task_id": task_id, "actor_id": actor_id, "action": action,
        "data": dict(data) if data is not None else None, "at": at,
    })


def _connection() -> Connection:
    return db.session.connection()


def _update_instance(statement: Update, instance_id: int, lock_version: int, **values: Any) -> None:
    result = _connection().execute(
        statement, {"b_id": instance_id, "b_version": lock_version, "b_new_version": lock_version + 1, **values})
    if result.rowcount != 1:
        raise ConflictError(CONFLICT_MESSAGE)


@contextlib.contextmanager
def step_transaction() -> Iterator[None]:
    """Everything written inside commits together or not at all; lock contention becomes a 409."""
    try:
        yield
        db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        if not _is_lock_error(exc):
            raise
        raise ConflictError(CONFLICT_MESSAGE) from exc
    except BaseException:
        db.session.rollback()
        raise


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "could not serialize" in text
