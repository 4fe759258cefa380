"""Writing one step's rows: the instance (lock-version checked), task index changes, audit events.

A step is planned in Python as a ``StepWrite`` and written in as few round trips as the
database allows: on PostgreSQL one fixed statement of data-modifying CTEs; elsewhere (SQLite,
where a round trip costs microseconds) prebuilt statements in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal_column, text, update

from app.extensions import db
from app.models import ACTIVE_STATUSES, AuditEvent, HumanTask, HumanTaskState, InstanceStatus, ProcessInstance
from app.services.errors import ConflictError, msg
from app.services.ops.request_context import with_request_id
from app.services.steps.job_rows import sync_timer_job, timer_job_key

TASKS = HumanTask.__table__
INSTANCES = ProcessInstance.__table__
EVENTS = AuditEvent.__table__
# An open task, with 'open' written in the SQL rather than bound: SQLite plans a statement again at every run when
# a bound value could decide whether a partial index applies (ix_human_tasks_open_element: WHERE state = 'open'),
# which cost the task load of every completion ~40 µs of its ~60.
TASK_IS_OPEN = TASKS.c.state == literal_column(f"'{HumanTaskState.OPEN}'", TASKS.c.state.type)
UNKNOWN: Any = object()  # the instance's timer (or status) before the step was not read
CONFLICT_MESSAGE = msg("someone else just changed this; reload and try again")


@dataclass
class StepWrite:
    instance_id: int
    lock_version: int
    now: datetime
    instance_values: dict[str, Any]
    completed_task_id: str | None = None
    completed_by_id: int | None = None
    cancelled_task_ids: list[str] = field(default_factory=list)
    new_tasks: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    previous_timer_at: Any = UNKNOWN  # datetime | None when the caller read it: an unchanged timer skips the job
    previous_status: Any = UNKNOWN  # str when the caller read it: SQLite then rewrites no index an unchanged step keeps


def write_step(step: StepWrite) -> None:
    """Write the step in the current transaction; raise ConflictError if the instance moved meanwhile."""
    connection = db.session.connection()
    for event in step.events:  # which request wrote it, for the logs (None outside a request)
        event["data"] = with_request_id(event["data"])
    values = step.instance_values
    syncs_timer = values["status"] != InstanceStatus.ERROR and (  # an incident keeps its job as the worker left it
        step.previous_timer_at is UNKNOWN or step.previous_timer_at != values.get("next_timer_at")
        or values["status"] not in ACTIVE_STATUSES)  # (see app.services.jobs.queue)
    drops_timer = syncs_timer and (values.get("next_timer_at") is None or values["status"] not in ACTIVE_STATUSES)
    if connection.dialect.name == "postgresql":  # a timer job to remove goes in the step's own statement
        parameters = _pg_parameters(step)
        parameters["dropped_job"] = timer_job_key(step.instance_id) if drops_timer else None
        moved = connection.execute(_PG_WRITE_STEP, parameters).scalar_one()
        syncs_timer = syncs_timer and not drops_timer
    else:
        moved = _statements(connection, step)
    if moved != 1:
        raise ConflictError(CONFLICT_MESSAGE)
    if syncs_timer:
        sync_timer_job(connection, step.instance_id, values.get("next_timer_at"), values["status"], step.now)


def _statements(connection: Connection, step: StepWrite) -> int:
    values = step.instance_values
    # SQLite rewrites the index entries of every indexed column a SET names, changed or not: a step that keeps the
    # status and the timer (most do) sets neither, which spares the commit 3 of its ~17 pages.
    keeps_indexed = (step.previous_status == values["status"] and step.previous_timer_at is not UNKNOWN
                     and step.previous_timer_at == values.get("next_timer_at"))
    parameters = {"b_id": step.instance_id, "b_version": step.lock_version, "b_new_version": step.lock_version + 1,
                  "state": values.get("state"), "error": values.get("error"), "ended_at": values.get("ended_at")}
    if keeps_indexed:  # (a column named in the parameters would join the SET: status and timer stay out)
        moved = connection.execute(_MOVE_STATE, parameters).rowcount
    else:
        moved = connection.execute(_MOVE_INSTANCE, {**parameters, "status": values["status"],
                                                    "next_timer_at": values.get("next_timer_at")}).rowcount
    if moved != 1:
        return moved
    if step.completed_task_id:
        connection.execute(_COMPLETE_TASK, {"b_id": step.completed_task_id, "completed_at": step.now,
                                            "completed_by_id": step.completed_by_id})
    if step.cancelled_task_ids:
        connection.execute(update(TASKS)
                           .where(TASKS.c.id.in_(step.cancelled_task_ids), TASK_IS_OPEN)
                           .values(state=HumanTaskState.CANCELLED, completed_at=step.now))
    if step.new_tasks:
        connection.execute(_INSERT_TASK, step.new_tasks)
    if step.events:
        connection.execute(_INSERT_EVENT, step.events)
    return moved


# Built once: building and compiling a statement per completion costs more than running it.
_MOVE_INSTANCE = (
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("b_id"), INSTANCES.c.lock_version == bindparam("b_version"))
    .values(lock_version=bindparam("b_new_version"), state=func.coalesce(bindparam("state"), INSTANCES.c.state),
            status=bindparam("status"), next_timer_at=bindparam("next_timer_at"), error=bindparam("error"),
            ended_at=func.coalesce(bindparam("ended_at", type_=INSTANCES.c.ended_at.type), INSTANCES.c.ended_at))
)
_MOVE_STATE = (  # _MOVE_INSTANCE for a step that keeps the status and the timer
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("b_id"), INSTANCES.c.lock_version == bindparam("b_version"))
    .values(lock_version=bindparam("b_new_version"), state=func.coalesce(bindparam("state"), INSTANCES.c.state),
            error=bindparam("error"),
            ended_at=func.coalesce(bindparam("ended_at", type_=INSTANCES.c.ended_at.type), INSTANCES.c.ended_at))
)
_COMPLETE_TASK = (
    update(TASKS).where(TASKS.c.id == bindparam("b_id"))
    .values(state=HumanTaskState.COMPLETED, completed_at=bindparam("completed_at"),
            completed_by_id=bindparam("completed_by_id"))
)
_INSERT_TASK = insert(TASKS)
_INSERT_EVENT = insert(EVENTS)

# PostgreSQL: the whole step in one round trip. Every write is gated on the instance row having
# moved (lock version matched), so a lost race writes nothing; PostgreSQL runs every CTE even
# though the final SELECT reads only one; the instance's timer job, when the step leaves no timer waiting, is
# deleted by the last one (:dropped_job NULL deletes nothing). The text is fixed, so psycopg prepares it on the
# server after a few runs and PostgreSQL stops re-planning it.
_PG_WRITE_STEP = text("""
WITH moved AS (
    UPDATE process_instances
       SET lock_version = :version + 1, state = COALESCE(:state, state), status = :status,
           next_timer_at = :next_timer_at, error = CAST(:error AS jsonb), ended_at = COALESCE(:ended_at, ended_at)
     WHERE id = :instance_id AND lock_version = :version
    RETURNING id
), done AS (
    UPDATE human_tasks SET state = 'completed', completed_at = :now, completed_by_id = :completed_by_id
     WHERE id = :completed_task_id AND EXISTS (SELECT 1 FROM moved)
    RETURNING id
), cancelled AS (
    UPDATE human_tasks SET state = 'cancelled', completed_at = :now
     WHERE id = ANY(CAST(:cancelled AS text[])) AND state = 'open' AND EXISTS (SELECT 1 FROM moved)
    RETURNING id
), created AS (
    INSERT INTO human_tasks (id, instance_id, process_id, element_id, title, role, department, assignee, state,
                             form_key, created_at, due_at)
    SELECT t.id, t.instance_id, t.process_id, t.element_id, t.title, t.role, t.department, t.assignee, t.state,
           t.form_key, t.created_at, t.due_at
      FROM jsonb_to_recordset(CAST(:new_tasks AS jsonb)) AS t(
           id text, instance_id int, process_id text, element_id text, title text, role text, department text,
           assignee text, state text, form_key text, created_at timestamptz, due_at timestamptz)
     WHERE EXISTS (SELECT 1 FROM moved)
    RETURNING id
), logged AS (
    INSERT INTO audit_events (instance_id, task_id, actor_id, action, data, at)
    SELECT e.instance_id, e.task_id, e.actor_id, e.action, e.data, e.at
      FROM jsonb_to_recordset(CAST(:events AS jsonb)) AS e(
           instance_id int, task_id text, actor_id int, action text, data jsonb, at timestamptz)
     WHERE EXISTS (SELECT 1 FROM moved)
    RETURNING id
), unjobbed AS (
    DELETE FROM jobs WHERE key = :dropped_job AND EXISTS (SELECT 1 FROM moved)
    RETURNING id
)
SELECT count(*) FROM moved
""")


def write_start(connection: Connection, instance: dict[str, Any], tasks: list[dict[str, Any]],
                events: list[dict[str, Any]]) -> int:
    """PostgreSQL: a started instance (``instance``: its column values), its open tasks and its audit events in one
    statement; ``tasks`` and ``events`` get the new instance's id. Returns it."""
    error = instance.get("error")
    return int(connection.execute(_PG_WRITE_START, {
        **{name: instance.get(name) for name in _STARTED_COLUMNS},
        "error": json.dumps(error, ensure_ascii=False) if error is not None else None,
        "new_tasks": json.dumps(tasks, default=_iso, ensure_ascii=False),
        "events": json.dumps(events, default=_iso, ensure_ascii=False),
    }).scalar_one())


_STARTED_COLUMNS = ("bundle_id", "process_id", "spec_key", "status", "state", "next_timer_at", "lock_version",
                    "started_by_id", "started_at", "ended_at", "project_key")
# A start in one round trip instead of three (the instance, its tasks, its audit): the tasks and events take the
# new id from the first CTE; their rows are inserted in the JSON arrays' order.
_PG_WRITE_START = text("""
WITH started AS (
    INSERT INTO process_instances (bundle_id, process_id, spec_key, status, state, next_timer_at, lock_version,
                                   started_by_id, started_at, ended_at, project_key, error)
    VALUES (:bundle_id, :process_id, :spec_key, :status, :state, :next_timer_at, :lock_version, :started_by_id,
            :started_at, :ended_at, :project_key, CAST(:error AS jsonb))
    RETURNING id
), created AS (
    INSERT INTO human_tasks (id, instance_id, process_id, element_id, title, role, department, assignee, state,
                             form_key, created_at, due_at)
    SELECT t.id, started.id, t.process_id, t.element_id, t.title, t.role, t.department, t.assignee, t.state,
           t.form_key, t.created_at, t.due_at
      FROM started, ROWS FROM (jsonb_to_recordset(CAST(:new_tasks AS jsonb)) AS (
           id text, process_id text, element_id text, title text, role text, department text, assignee text,
           state text, form_key text, created_at timestamptz, due_at timestamptz)) WITH ORDINALITY AS t(
           id, process_id, element_id, title, role, department, assignee, state, form_key, created_at, due_at, n)
     ORDER BY t.n
    RETURNING id
), logged AS (
    INSERT INTO audit_events (instance_id, task_id, actor_id, action, data, at)
    SELECT started.id, e.task_id, e.actor_id, e.action, e.data, e.at
      FROM started, ROWS FROM (jsonb_to_recordset(CAST(:events AS jsonb)) AS (
           task_id text, actor_id int, action text, data jsonb, at timestamptz)) WITH ORDINALITY AS e(
           task_id, actor_id, action, data, at, n)
     ORDER BY e.n
    RETURNING id
)
SELECT id FROM started
""")


def _pg_parameters(step: StepWrite) -> dict[str, Any]:
    values = step.instance_values
    error = values.get("error")
    return {
        "instance_id": step.instance_id, "version": step.lock_version, "state": values.get("state"),
        "status": values["status"], "next_timer_at": values.get("next_timer_at"),
        "error": json.dumps(error, ensure_ascii=False) if error is not None else None,
        "ended_at": values.get("ended_at"), "now": step.now, "completed_task_id": step.completed_task_id,
        "completed_by_id": step.completed_by_id, "cancelled": step.cancelled_task_ids,
        "new_tasks": json.dumps(step.new_tasks, default=_iso, ensure_ascii=False),
        "events": json.dumps(step.events, default=_iso, ensure_ascii=False),
    }


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
