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

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import HumanTask, Ticket, User
from app.models.jobs import Job
from app.services.jobs.notifications import notify, user_ids_with_role
from app.services.settings import get_setting
from app.services.steps.job_rows import delete_jobs, upsert_job
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


def sync_step_jobs(ticket: StepTicket, *, now: datetime, covered_by_ticket: bool) -> None:
    """After a step: every open task due before the ticket has its rungs; finished tasks have none.

    ``covered_by_ticket`` is true while the ticket's own deadline ladder runs (it has a due time and
    the work is not done yet).
    """
    connection = db.session.connection()
    wanted: dict[str, tuple[str, datetime]] = {}
    if ticket.closed_at is None:
        for task_id, created_at, due_at in _open_tasks_with_a_due_time(ticket.instance_id):
            if covered_by_ticket and ticket.due_at is not None and due_at >= ticket.due_at:
                continue
            wanted |= _rungs(ticket.id, task_id, created_at, due_at, now)
    existing = set(db.session.scalars(select(Job.key).where(
        Job.ticket_id == ticket.id,
        or_(Job.key.like(f"reminder:{ticket.id}:%"), Job.key.like(f"escalate:{ticket.id}:%")))))
    stale = sorted(existing - set(wanted))
    if stale:
        delete_jobs(connection, stale)
    for key, (kind, due_at) in wanted.items():
        if key not in existing:  # a task's due time never moves: a rung once written stays as it is
            upsert_job(connection, key=key, kind=kind, due_at=due_at, now=now, instance_id=ticket.instance_id,
                       ticket_id=ticket.id)


def _open_tasks_with_a_due_time(instance_id: int) -> list[tuple[str, datetime, datetime]]:
    rows = db.session.execute(select(HumanTask.id, HumanTask.created_at, HumanTask.due_at).where(
        HumanTask.instance_id == instance_id, HumanTask.state == "open", HumanTask.due_at.is_not(None))).all()
    return [(task_id, created_at, due_at) for task_id, created_at, due_at in rows if due_at is not None]


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
