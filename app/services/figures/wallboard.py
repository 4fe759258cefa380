"""The CS supervisor's wallboard (客服主管看板): today's calls, the open tickets by stage, what is overdue or due
soon, the night holds waiting for the morning, the chases and each agent's work today.

Every query is bounded: counts of today come from the daily counters (``figures/counters.py``) or from
indexed ranges (tickets received today, audit events of today by action), the open tickets through the
``closed_at`` index, and the lists are short.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Project, Ticket, User
from app.services.figures.counters import COMPANY, DAILY

SOON = timedelta(hours=2)
LIST_LENGTH = 8
# Audit actions: a repeated call attached to a ticket (合并来电); the chase (催办) it makes of an open one.
CALL_ATTACHED, CHASED = "call_attached", "chased"


@dataclass(frozen=True)
class TicketLine:
    number: str
    project_key: str
    unit_code: str
    category: str
    stage: str | None
    received_at: datetime
    due_at: datetime | None
    chases: int  # the ticket's chase counter


@dataclass(frozen=True)
class AgentWork:
    user_id: int
    name: str
    recorded: int  # tickets recorded today
    tasks_done: int  # tasks completed today


@dataclass(frozen=True)
class Wallboard:
    day: date
    now: datetime
    new_tickets: int
    attached_calls: int
    chases: int  # repeated calls on open tickets (催办)
    open_by_stage: list[tuple[str, int]]
    overdue: int
    soon_due: int
    overdue_list: list[TicketLine]
    soon_due_list: list[TicketLine]
    night_holds: int
    night_hold_list: list[TicketLine]
    chased_list: list[TicketLine]
    agents: list[AgentWork]

    @property
    def calls(self) -> int:
        """Today's calls: each new ticket was a call, and so was each repeated call attached to one."""
        return self.new_tickets + self.attached_calls

    @property
    def open_total(self) -> int:
        return sum(count for _, count in self.open_by_stage)


def business_day(now: datetime, timezone: str) -> tuple[date, datetime, datetime]:
    """The business day of ``now`` in ``timezone`` and its bounds (aware datetimes)."""
    day = now.astimezone(ZoneInfo(timezone)).date()
    return day, *day_bounds(day, timezone)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The first moment of a business day and of the next one."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))


def wallboard(*, now: datetime, timezone: str, projects: Collection[str] | None) -> Wallboard:
    """The wallboard of ``now``'s business day, for ``projects`` (None: every project)."""
    day, start, end = business_day(now, timezone)
    keys = list(projects) if projects is not None else None
    open_tickets = Ticket.closed_at.is_(None)
    return Wallboard(
        day=day, now=now, new_tickets=_received_today(day, keys),
        attached_calls=_events_today(CALL_ATTACHED, start, end, keys), chases=_events_today(CHASED, start, end, keys),
        open_by_stage=_open_by_stage(keys),
        overdue=_count(keys, open_tickets, Ticket.due_at < now),
        soon_due=_count(keys, open_tickets, Ticket.due_at >= now, Ticket.due_at < now + SOON),
        overdue_list=_lines(keys, Ticket.due_at, open_tickets, Ticket.due_at < now),
        soon_due_list=_lines(keys, Ticket.due_at, open_tickets, Ticket.due_at >= now, Ticket.due_at < now + SOON),
        night_holds=_count(keys, open_tickets, Ticket.stage == "night_hold"),
        night_hold_list=_lines(keys, Ticket.received_at, open_tickets, Ticket.stage == "night_hold"),
        chased_list=_lines(keys, Ticket.chase_count.desc(), open_tickets, Ticket.chase_count > 0),
        agents=_agents(day, start, end, keys),
    )


def _scope(query: Any, keys: list[str] | None) -> Any:
    return query if keys is None else query.where(Ticket.project_key.in_(keys))


def _daily_scope(keys: list[str] | None) -> Any:
    return DAILY.c.project_key == COMPANY if keys is None else DAILY.c.project_key.in_(keys)


def _received_today(day: date, keys: list[str] | None) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(DAILY.c.received), 0))
                                 .where(DAILY.c.dimension == "all", DAILY.c.day == day, _daily_scope(keys))) or 0)


def _events_today(action: str, start: datetime, end: datetime, keys: list[str] | None) -> int:
    """Audit events of one kind today (the index on action and time), of the projects' tickets."""
    query = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.at >= start, AuditEvent.at < end)
    if keys is not None:
        query = query.join(Ticket, Ticket.instance_id == AuditEvent.instance_id).where(Ticket.project_key.in_(keys))
    return int(db.session.scalar(query) or 0)


def _open_by_stage(keys: list[str] | None) -> list[tuple[str, int]]:
    rows = db.session.execute(_scope(select(Ticket.stage, func.count()).where(Ticket.closed_at.is_(None))
                                     .group_by(Ticket.stage), keys)).all()
    return sorted(((stage or "intake", int(count)) for stage, count in rows), key=lambda row: -row[1])


def _count(keys: list[str] | None, *conditions: Any) -> int:
    return int(db.session.scalar(_scope(select(func.count()).select_from(Ticket).where(*conditions), keys)) or 0)


def _lines(keys: list[str] | None, order: Any, *conditions: Any) -> list[TicketLine]:
    rows = db.session.execute(_scope(
        select(Ticket.number, Ticket.project_key, Ticket.unit_code, Ticket.category, Ticket.stage,
               Ticket.received_at, Ticket.due_at, Ticket.chase_count).where(*conditions).order_by(order, Ticket.id)
        .limit(LIST_LENGTH), keys)).all()
    return [TicketLine(number=row.number, project_key=row.project_key, unit_code=row.unit_code,
                       category=row.category, stage=row.stage, received_at=row.received_at, due_at=row.due_at,
                       chases=int(row.chase_count or 0)) for row in rows]


def _agents(day: date, start: datetime, end: datetime, keys: list[str] | None) -> list[AgentWork]:
    """Tickets each person recorded today and tasks each completed today (the daily counters' ``user`` rows)."""
    project_keys = keys if keys is not None else list(db.session.scalars(select(Project.key)))
    recorded: dict[int, int] = {int(user_id or 0): int(count) for user_id, count in db.session.execute(
        select(Ticket.received_by_id, func.count())  # the (project, received_at) index, one range per project
        .where(Ticket.project_key.in_(project_keys), Ticket.received_at >= start, Ticket.received_at < end,
               Ticket.received_by_id.is_not(None)).group_by(Ticket.received_by_id)).all()}
    done = {int(value): int(count) for value, count in db.session.execute(
        select(DAILY.c.value, func.sum(DAILY.c.tasks_done))
        .where(DAILY.c.dimension == "user", DAILY.c.day == day, _daily_scope(keys)).group_by(DAILY.c.value)).all()
        if value.isdigit()}
    people = set(recorded) | set(done)
    names = {user_id: display_name or username for user_id, display_name, username in db.session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(people))).all()} if people else {}
    work = [AgentWork(user_id, names.get(user_id) or str(user_id), recorded.get(user_id, 0),
                      done.get(user_id, 0)) for user_id in people]
    return sorted(work, key=lambda person: (-(person.recorded + person.tasks_done), person.name))
