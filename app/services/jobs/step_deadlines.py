"""The deadline ladder of each human step that is due before its ticket (a user task's own ``deadline``).

A step whose due time comes from the step time limits (``bpmn/step_time_limits.dmn``) gets the same
ladder as a ticket, as jobs of the same kinds:

- at ``reminder_fraction`` (80 %) of the step's time, the people who hold the task are reminded;
- at its due time, level 2: the department's owners (or, outside a department, the lane's holders)
  are reminded and the CS supervisors notified;
- ``level3_extra_fraction`` (50 %) of the step's time after that, level 3: the property managers.

Each rung runs once. Completing (or cancelling) the task deletes its jobs; a pause ends the task,
and the task that waits for the pause's end brings its own due time. A step due no earlier than its
ticket adds nothing: the ticket's own ladder already covers it. A rung raises the ticket's
escalation level when it is higher (a level reached stays).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, column, delete, func, null, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import HumanTask, Ticket, User
from app.models.jobs import Job
from app.services.jobs.notifications import notify, user_ids_with_role
from app.services.settings import get_setting
from app.services.steps.job_rows import delete_jobs
from app.services.steps.plan import record_event

REMINDER, LEVEL2, LEVEL3 = "reminder", "2", "3"
SHORTEST_STEP = timedelta(minutes=10)


@dataclass(frozen=True)
class StepTicket:
    """What the ladder needs of the ticket (a subset of ``deadlines.TicketFacts``)."""

    id: int
    number: str
    instance_id: int
    category: str
    stage: str | None
    due_at: datetime | None
    closed_at: datetime | None


def step_job_key(ticket_id: int, task_id: str, rung: str) -> str:
    kind = "reminder" if rung == REMINDER else "escalate"
    return f"{kind}:{ticket_id}:{task_id}" + ("" if rung == REMINDER else f":{rung}")


def is_step_job(key: str) -> bool:
    return key.count(":") >= 2


def sync_step_jobs(ticket: StepTicket, *, now: datetime, covered_by_ticket: bool,
                   upserts: list[dict[str, Any]] | None = None,
                   new_tasks: list[tuple[str, datetime, datetime]] | None = None) -> None:
    """After a step: every open task due before the ticket has its rungs; finished tasks have none.

    ``covered_by_ticket`` is true while the ticket's own deadline ladder runs (it has a due time and
    the work is not done yet). The new rungs are added to ``upserts`` when given (the caller writes them with its
    own jobs, ``upsert_deadline_jobs``), else written here. ``new_tasks``: a new ticket's open tasks with a due time
    (id, created, due), which has no rung yet: nothing to read.
    """
    connection = db.session.connection()
    if ticket.closed_at is not None:  # a closed ticket keeps no rung: delete them without reading them first
        if new_tasks is None:
            connection.execute(_DELETE_RUNGS, _rung_keys(ticket.id))
        return
    wanted: dict[str, tuple[str, datetime]] = {}
    rows: list[Any] = list(new_tasks) if new_tasks is not None else list(connection.execute(
        _OPEN_TASKS_AND_RUNGS, {"instance_id": ticket.instance_id, **_rung_keys(ticket.id)}))
    existing = {key for key, created_at, _due_at in rows if created_at is None}  # a rung's row has no times
    for task_id, created_at, due_at in rows:
        if created_at is None or (covered_by_ticket and ticket.due_at is not None and due_at >= ticket.due_at):
            continue
        wanted |= _rungs(ticket.id, task_id, created_at, due_at, now)
    stale = sorted(existing - set(wanted))
    if stale:
        delete_jobs(connection, stale)
    # A task's due time never moves: a rung once written stays as it is.
    new = [deadline_job_row(key, kind, due_at, now=now, instance_id=ticket.instance_id, ticket_id=ticket.id)
           for key, (kind, due_at) in wanted.items() if key not in existing]
    if upserts is None:
        upsert_deadline_jobs(new)
    else:
        upserts.extend(new)


def deadline_job_row(key: str, kind: str, due_at: datetime, *, now: datetime, instance_id: int,
                     ticket_id: int) -> dict[str, Any]:
    """A ``reminder`` or ``escalate`` job's row for ``upsert_deadline_jobs``."""
    return {"key": key, "kind": kind, "instance_id": instance_id, "ticket_id": ticket_id, "due_at": due_at,
            "retries_left": DEADLINE_RETRIES, "attempts": 0, "created_at": now}


def upsert_deadline_jobs(rows: list[dict[str, Any]]) -> None:
    """Create the jobs or move them to their due times (fresh retries, unlocked), as ``job_rows.upsert_job`` does
    one by one: one statement for a step's jobs."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and len({row["key"] for row in rows}) == len(rows):
        # The rows as one JSON document: one statement and one parameter to send, not one statement a row.
        connection.execute(_PG_JSON_UPSERT_JOBS, {"rows": json.dumps(rows, default=_utc_text)})
    else:
        connection.execute(_UPSERT_JOBS[connection.dialect.name], rows)


def _utc_text(moment: datetime) -> str:
    """A job's time in JSON, as its column would store it (aware only, as ``UTCDateTime`` wants)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return moment.astimezone(UTC).isoformat()


DEADLINE_RETRIES = 3
_JOBS = Job.__table__
_RUNG_KEYS = and_(_JOBS.c.ticket_id == bindparam("ticket_id"),
                  or_(_JOBS.c.key.like(bindparam("reminders")), _JOBS.c.key.like(bindparam("escalations"))))
# Built once (compiling per step costs more than running them): the instance's open tasks with a due time and the
# ticket's rungs already written, in one statement; and every rung of a closed ticket deleted without reading them.
_OPEN_TASKS_AND_RUNGS = union_all(
    select(HumanTask.id, HumanTask.created_at, HumanTask.due_at).where(
        HumanTask.instance_id == bindparam("instance_id"), HumanTask.state == "open", HumanTask.due_at.is_not(None)),
    select(_JOBS.c.key, null(), null()).where(_RUNG_KEYS))
_DELETE_RUNGS = delete(_JOBS).where(_RUNG_KEYS)


def _rung_keys(ticket_id: int) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "reminders": f"reminder:{ticket_id}:%", "escalations": f"escalate:{ticket_id}:%"}


def _upsert_jobs(insert: Any) -> Any:
    statement = insert(_JOBS)
    return statement.on_conflict_do_update(index_elements=[_JOBS.c.key], set_={
        "due_at": statement.excluded.due_at, "lock_owner": None, "lock_expires_at": None,
        "retries_left": statement.excluded.retries_left, "attempts": 0, "last_error": None})


_UPSERT_JOBS = {"postgresql": _upsert_jobs(postgresql.insert), "sqlite": _upsert_jobs(sqlite.insert)}
_JOB_COLUMNS = ("key", "kind", "instance_id", "ticket_id", "due_at", "retries_left", "attempts", "created_at")


def _json_upsert_jobs() -> Any:
    """PostgreSQL: ``_upsert_jobs`` of rows given as one JSON array (``jsonb_to_recordset``), in their order; their
    keys must be distinct, as one INSERT's rows must be."""
    given = func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), postgresql.JSONB))
    rows = given.table_valued(*(column(name, _JOBS.c[name].type) for name in _JOB_COLUMNS)).render_derived(
        with_types=True)
    statement = postgresql.insert(_JOBS).from_select(_JOB_COLUMNS, select(*(rows.c[name] for name in _JOB_COLUMNS)))
    return statement.on_conflict_do_update(index_elements=[_JOBS.c.key], set_={
        "due_at": statement.excluded.due_at, "lock_owner": None, "lock_expires_at": None,
        "retries_left": statement.excluded.retries_left, "attempts": 0, "last_error": None})


_PG_JSON_UPSERT_JOBS = _json_upsert_jobs()


def _rungs(ticket_id: int, task_id: str, created_at: datetime, due_at: datetime,
           now: datetime) -> dict[str, tuple[str, datetime]]:
    span = max(due_at - created_at, SHORTEST_STEP)
    reminder_at = due_at - span * (1 - float(get_setting("reminder_fraction")))
    level3_at = due_at + span * float(get_setting("level3_extra_fraction"))
    rungs = {step_job_key(ticket_id, task_id, LEVEL2): ("escalate", due_at),
             step_job_key(ticket_id, task_id, LEVEL3): ("escalate", level3_at)}
    if reminder_at > now:  # a step already 80 % gone when it appears is not worth a separate notice
        rungs[step_job_key(ticket_id, task_id, REMINDER)] = ("reminder", reminder_at)
    return rungs


def run_step_job(key: str, ticket: StepTicket, *, now: datetime, params: dict[str, Any], link: str) -> int:
    """One rung of a step's ladder, if the task is still open; returns how many people were notified."""
    task_id, rung = _parse(key)
    task = db.session.execute(select(HumanTask.element_id, HumanTask.title, HumanTask.role, HumanTask.department,
                                     HumanTask.assignee, HumanTask.claimed_by_id, HumanTask.due_at)
                              .where(HumanTask.id == task_id, HumanTask.state == "open")).first()
    if task is None or ticket.closed_at is not None:
        return 0
    params = params | {"due_at": task.due_at.isoformat() if task.due_at else None, "task": task.title}
    if rung == REMINDER:
        return notify(_holders(task), kind="due_soon", now=now, ticket_id=ticket.id, link=link, params=params)
    level = int(rung)
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id, Ticket.escalation_level < level)
                       .values(escalation_level=level))
    record_event(ticket.instance_id, "escalated", at=now, task_id=task_id,
                 data={"level": level, "ticket": ticket.number, "step": task.element_id})
    if level == 2:
        owners = user_ids_with_role("dept_owner", department=task.department) if task.department else _holders(task)
        people = owners + user_ids_with_role("cs_supervisor")
    else:
        people = user_ids_with_role("property_manager")
    return notify(people, kind="escalated", now=now, ticket_id=ticket.id, link=link, params=params | {"level": level})


def _parse(key: str) -> tuple[str, str]:
    parts = key.split(":")
    return parts[2], (REMINDER if parts[0] == "reminder" else parts[3])


def _holders(task: Any) -> list[int]:
    """Whoever claimed the task; else its named assignee; else the lane's role (in the task's department)."""
    if task.claimed_by_id is not None:
        return [task.claimed_by_id]
    if task.assignee:
        return list(db.session.scalars(select(User.id).where(User.username == task.assignee,
                                                             User.is_active.is_(True))))
    return user_ids_with_role(task.role, department=task.department) if task.role else []
