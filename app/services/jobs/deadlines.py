"""What a ticket's step means for people: deadline reminders, escalation notices, owners' SMS.

Called by the ticket sync inside every step's transaction, with the ticket as it was before the
step; so a notice is written exactly when its cause commits, and once.

- 80 % of the time limit: the people holding the ticket's open tasks are reminded (job ``reminder``).
- At the limit the flow escalates to level 2 (a BPMN timer): the department's owners are reminded
  and the CS supervisors notified. Level 1 (a reply overdue at reception) notifies the supervisors.
- Still open half the limit again after it: level 3, the property managers (job ``escalate``).
- Owners get an SMS when the call is recorded, when a visit is agreed, when the work is done and
  after the callback.
The limit is the flow's ``limit_hours`` when it has one, else the time from receipt to the due time;
a limit in working time (``limit_unit``) is measured and extended in working time (office hours,
holidays, 调休). Pauses move ``due_at``, so both jobs move with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from app.engine import WorkingCalendar
from app.extensions import db
from app.models import HumanTask, Ticket, User
from app.services.jobs.notifications import notify, queue_text, user_ids_with_role
from app.services.jobs.sms_templates import words
from app.services.jobs.step_deadlines import (
    StepTicket,
    deadline_job_row,
    is_step_job,
    run_step_job,
    sync_step_jobs,
    upsert_deadline_jobs,
)
from app.services.settings import get_setting
from app.services.steps.job_rows import delete_jobs
from app.services.steps.plan import record_event

WORKING_UNITS = frozenset({"working_hours", "working_days"})
WORK_DONE_STAGES = frozenset({"callback", "review", "classification", "closed"})
CATEGORY_ZH = {"repair": "报修", "complaint": "投诉", "consultation": "咨询", "suggestion": "建议", "praise": "表扬"}


@dataclass(frozen=True)
class TicketFacts:
    id: int
    number: str
    instance_id: int
    category: str
    phone: str | None
    stage: str | None
    department: str | None
    escalation_level: int
    due_at: datetime | None
    appointment_at: datetime | None
    received_at: datetime
    closed_at: datetime | None
    satisfaction: str | None
    outcome: str | None


_FACT_COLUMNS = [getattr(Ticket, name) for name in TicketFacts.__dataclass_fields__]


def ticket_facts(ticket_id: int) -> TicketFacts | None:
    row = db.session.execute(select(*_FACT_COLUMNS).where(Ticket.id == ticket_id)).first()
    return TicketFacts(*row) if row is not None else None


def ticket_facts_of(ticket: Any) -> TicketFacts:
    """The facts of a ticket row already read (anything with the ticket's column names as attributes)."""
    return TicketFacts(*(getattr(ticket, name) for name in _FACT_NAMES))


_FACT_NAMES = tuple(TicketFacts.__dataclass_fields__)


def reminder_key(ticket_id: int) -> str:
    return f"reminder:{ticket_id}"


def escalate_key(ticket_id: int) -> str:
    return f"escalate:{ticket_id}"


def after_ticket_step(ticket_id: int, before: TicketFacts | None, data: Mapping[str, Any], *, now: datetime,
                      timezone: str, calendar: Callable[[], WorkingCalendar] | None = None,
                      after: TicketFacts | None = None,
                      new_tasks: list[tuple[str, datetime, datetime]] | None = None) -> OwnerCall | None:
    """Compare the ticket before and after the step; schedule, notify and text what changed.

    ``calendar`` places the reminder and level 3 in working time when the limit is in working time; ``after`` is
    the ticket as the step left it, when the caller has it (else it is read). ``new_tasks``: a new ticket's open
    tasks with a due time (id, created, due), when the caller knows them (its start made them).
    Returns the owner's text when their number cannot take one (a landline): the caller has them phoned.
    """
    if after is None:
        after = ticket_facts(ticket_id)
    if after is None:
        return None
    upserts: list[dict[str, Any]] = []  # the ticket's jobs and its steps' rungs, written in one statement
    _schedule_deadline_jobs(before, after, data, now, calendar, upserts)
    sync_step_jobs(_step_ticket(after), now=now,
                   covered_by_ticket=after.due_at is not None and after.stage not in WORK_DONE_STAGES, upserts=upserts,
                   new_tasks=new_tasks if before is None else None)
    upsert_deadline_jobs(upserts)
    _notify_escalation(before, after, now)
    return _text_the_owner(before, after, now, timezone)


# --- deadline jobs ---------------------------------------------------------------------------------

def _schedule_deadline_jobs(before: TicketFacts | None, after: TicketFacts, data: Mapping[str, Any],
                            now: datetime, calendar: Callable[[], WorkingCalendar] | None,
                            upserts: list[dict[str, Any]]) -> None:
    """Delete the ticket's reminder and level-3 jobs, or add them to ``upserts`` (the caller writes them)."""
    connection = db.session.connection()
    keys = [reminder_key(after.id), escalate_key(after.id)]
    if after.closed_at is not None or after.stage in WORK_DONE_STAGES or after.due_at is None:
        if before is not None and _has_deadline_jobs(before):
            delete_jobs(connection, keys)
        return
    if before is not None and before.due_at == after.due_at:
        return
    reminder_at, level3_at = _reminder_and_level3(after, data, calendar)
    if reminder_at > now:  # a deadline already 80 % gone when it is set is not worth a separate notice
        upserts.append(deadline_job_row(keys[0], "reminder", reminder_at, now=now, instance_id=after.instance_id,
                                        ticket_id=after.id))
    else:
        delete_jobs(connection, keys[:1])
    if after.escalation_level < 3:
        upserts.append(deadline_job_row(keys[1], "escalate", level3_at, now=now, instance_id=after.instance_id,
                                        ticket_id=after.id))


def _has_deadline_jobs(ticket: TicketFacts) -> bool:
    """Whether the ticket may have its reminder and level-3 jobs: they are written while it has a due time and
    its work is not done, and deleted by the step that leaves that state (later steps need not delete them)."""
    return ticket.due_at is not None and ticket.closed_at is None and ticket.stage not in WORK_DONE_STAGES


def _reminder_and_level3(ticket: TicketFacts, data: Mapping[str, Any],
                         calendar_of: Callable[[], WorkingCalendar] | None) -> tuple[datetime, datetime]:
    """80 % of the limit, and half the limit past the due time — in working time for a working-time limit.

    The shares are the settings ``reminder_fraction`` and ``level3_extra_fraction`` (/admin/settings).
    """
    assert ticket.due_at is not None
    reminder_share, level3_share = float(get_setting("reminder_fraction")), float(get_setting("level3_extra_fraction"))
    if calendar_of is not None and data.get("limit_unit") in WORKING_UNITS:
        calendar = calendar_of()
        working = timedelta(hours=calendar.working_hours_between(ticket.received_at, ticket.due_at))
        return (calendar.add_working_hours(ticket.received_at, working * reminder_share),
                calendar.add_working_hours(ticket.due_at, working * level3_share))
    limit = _limit_of(ticket, data)
    return ticket.due_at - limit * (1 - reminder_share), ticket.due_at + limit * level3_share


def _limit_of(ticket: TicketFacts, data: Mapping[str, Any]) -> timedelta:
    hours = data.get("limit_hours")
    if isinstance(hours, int | float) and hours > 0:
        return timedelta(hours=float(hours))
    assert ticket.due_at is not None
    return max(ticket.due_at - ticket.received_at, timedelta(minutes=10))


def _step_ticket(ticket: TicketFacts) -> StepTicket:
    return StepTicket(ticket.id, ticket.number, ticket.instance_id, ticket.category, ticket.stage, ticket.due_at,
                      ticket.closed_at)


def run_deadline_job(key: str, ticket_id: int, *, now: datetime) -> int:
    """A ``reminder`` or ``escalate`` job: the ticket's own, or a rung of a step's ladder (services/step_deadlines)."""
    if not is_step_job(key):
        if key.startswith("reminder:"):
            return send_reminder(ticket_id, now=now)
        return escalate_to_level3(ticket_id, now=now)
    ticket = ticket_facts(ticket_id)
    if ticket is None:
        return 0
    return run_step_job(key, _step_ticket(ticket), now=now, params=_params(ticket), link=_link(ticket))


def send_reminder(ticket_id: int, *, now: datetime) -> int:
    """The 80 % reminder to whoever holds the ticket's open tasks (or their role, when unclaimed)."""
    ticket = ticket_facts(ticket_id)
    if ticket is None or ticket.closed_at is not None or ticket.due_at is None or ticket.due_at <= now:
        return 0
    return notify(_holders_of_open_tasks(ticket.instance_id), kind="due_soon", now=now, ticket_id=ticket.id,
                  link=_link(ticket), params=_params(ticket))


def escalate_to_level3(ticket_id: int, *, now: datetime) -> int:
    """Still open half the limit past the due time: level 3, the property managers are notified."""
    ticket = ticket_facts(ticket_id)
    if ticket is None or ticket.closed_at is not None or ticket.escalation_level >= 3:
        return 0
    db.session.execute(update(Ticket).where(Ticket.id == ticket_id).values(escalation_level=3))
    record_event(ticket.instance_id, "escalated", at=now, data={"level": 3, "ticket": ticket.number})
    return notify(user_ids_with_role("property_manager"), kind="escalated", now=now, ticket_id=ticket.id,
                  link=_link(ticket), params=_params(ticket) | {"level": 3})


def escalate_one_level(ticket_id: int, *, now: datetime, cause: dict[str, Any]) -> int:
    """Raise an open ticket one escalation level for ``cause`` (a chased ticket: ``{"chases": 2}``), notifying as a
    missed deadline does: level 1 the CS supervisors, 2 also the department's owners, 3 the property managers.

    Returns the new level (0 when the ticket is closed or already at level 3).
    """
    before = ticket_facts(ticket_id)
    if before is None or before.closed_at is not None or before.escalation_level >= 3:
        return 0
    if before.escalation_level == 2:
        escalate_to_level3(ticket_id, now=now)
        return 3
    level = before.escalation_level + 1
    db.session.execute(update(Ticket).where(Ticket.id == ticket_id).values(escalation_level=level))
    record_event(before.instance_id, "escalated", at=now, data={"level": level, "ticket": before.number, **cause})
    after = ticket_facts(ticket_id)
    assert after is not None
    _notify_escalation(before, after, now, cause)
    return level


def holders_of_open_tasks(instance_id: int) -> list[int]:
    """Who holds the instance's open tasks: the claimer, else the named assignee, else the role's holders."""
    return _holders_of_open_tasks(instance_id)


def _holders_of_open_tasks(instance_id: int) -> list[int]:
    tasks = db.session.execute(select(HumanTask.claimed_by_id, HumanTask.assignee, HumanTask.role,
                                      HumanTask.department)
                               .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")).all()
    people: list[int] = []
    for claimed_by_id, assignee, role, department in tasks:
        if claimed_by_id is not None:
            people.append(claimed_by_id)
        elif assignee:
            people.extend(db.session.scalars(select(User.id).where(User.username == assignee,
                                                                   User.is_active.is_(True))))
        elif role:
            people.extend(user_ids_with_role(role, department=department))
    return people


# --- escalation notices ----------------------------------------------------------------------------

def _notify_escalation(before: TicketFacts | None, after: TicketFacts, now: datetime,
                       cause: Mapping[str, Any] | None = None) -> None:
    previous = before.escalation_level if before is not None else 0
    if after.escalation_level <= previous or before is None:
        return  # a ticket opened at a level (a reopened complaint) is announced by its own tasks
    params, link = _params(after) | {"level": after.escalation_level, **(cause or {})}, _link(after)
    supervisors = user_ids_with_role("cs_supervisor")
    if after.escalation_level >= 2 > previous:
        department = user_ids_with_role("dept_owner", department=after.department) if after.department else []
        notify(department + supervisors, kind="escalated", now=now, ticket_id=after.id, link=link, params=params)
    elif after.escalation_level == 1:
        notify(supervisors, kind="escalated", now=now, ticket_id=after.id, link=link, params=params)


# --- owners' SMS -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OwnerCall:
    """An owner's text that their number cannot take (not a mobile): someone phones them with it instead."""

    ticket_id: int
    number: str
    instance_id: int
    phone: str
    message: str


def _text_the_owner(before: TicketFacts | None, after: TicketFacts, now: datetime,
                    timezone: str) -> OwnerCall | None:
    text = _owner_text(before, after, timezone)
    if text is None:
        return None
    template, params = text
    if not after.phone or queue_text(after.phone, template, params, now=now, ticket_id=after.id):
        return None
    return OwnerCall(after.id, after.number, after.instance_id, after.phone, words(template, params))


def _owner_text(before: TicketFacts | None, after: TicketFacts, timezone: str) -> tuple[str, dict[str, str]] | None:
    """The SMS template (sms_templates.py) and parameters this step means for the owner, if any."""
    number = {"number": after.number}
    if before is None:
        return "ticket_received", {"kind": CATEGORY_ZH.get(after.category, "来电"), **number}
    if after.appointment_at is not None and after.appointment_at != before.appointment_at:
        local = after.appointment_at.astimezone(ZoneInfo(timezone)).strftime("%m月%d日 %H:%M")
        return "appointment_agreed", {**number, "time": local}
    if after.stage in WORK_DONE_STAGES and before.stage not in WORK_DONE_STAGES and after.closed_at is None:
        return "work_done", number
    if after.satisfaction and not before.satisfaction:
        return "callback_thanks", number
    if after.outcome == "unreachable" and before.outcome != "unreachable":
        return "callback_unreachable", number
    return None


def _params(ticket: TicketFacts) -> dict[str, Any]:
    return {"number": ticket.number, "category": ticket.category, "stage": ticket.stage,
            "due_at": ticket.due_at.isoformat() if ticket.due_at else None, "department": ticket.department}


def _link(ticket: TicketFacts) -> str:
    return f"/tickets/{ticket.number}"
