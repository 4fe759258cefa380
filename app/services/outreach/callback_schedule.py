"""Reading planned callbacks by what a CS manager filters on: the state (planned, started, done, cancelled),
the days they are due, the project, the customer type and the method a call was made by; and the plan of
the next days, day by day. Writing plans is ``callback_plans.py``; the calls are the ``planned_callback`` flow.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Ticket
from app.models.outreach import CallbackCall, CallbackPlan
from app.services.access import Actor, may_watch_wallboard
from app.services.errors import ForbiddenError, NotFoundError, msg
from app.services.people.organisation import visible_projects

STATUSES = ("planned", "started", "done", "cancelled")
MAX_SCHEDULE_DAYS = 62  # as many as a supervisor's plan may span (callback_plans.MAX_PERIOD_DAYS)


@dataclass(frozen=True)
class PlanRow:
    plan: CallbackPlan
    calls: list[CallbackCall]
    ticket_numbers: dict[int, str]  # the linked tickets of the calls, and the source ticket


def plans(*, user: Actor, project_key: str | None = None, status: str | None = None,
          limit: int = 300) -> list[PlanRow]:
    """The plans the user may see (their projects), newest due first, with their calls and linked tickets."""
    query = select(CallbackPlan).order_by(CallbackPlan.due_on.desc(), CallbackPlan.id.desc()).limit(limit)
    allowed = visible_projects(user)
    if allowed is not None:
        query = query.where(CallbackPlan.project_key.in_(allowed))
    if project_key:
        query = query.where(CallbackPlan.project_key == project_key)
    if status:
        query = query.where(CallbackPlan.status == status)
    return with_calls(list(db.session.scalars(query)))


def with_calls(rows: list[CallbackPlan]) -> list[PlanRow]:
    """The plans with their calls (in the order they were made) and the numbers of the tickets they name."""
    calls = list(db.session.scalars(select(CallbackCall).where(
        CallbackCall.plan_id.in_([plan.id for plan in rows])).order_by(CallbackCall.done_at, CallbackCall.id)))
    ticket_ids = {call.ticket_id for call in calls if call.ticket_id} | {
        plan.source_ticket_id for plan in rows if plan.source_ticket_id}
    numbers = {ticket_id: number for ticket_id, number in db.session.execute(
        select(Ticket.id, Ticket.number).where(Ticket.id.in_(ticket_ids)))}
    by_plan: dict[int, list[CallbackCall]] = {}
    for call in calls:
        by_plan.setdefault(call.plan_id, []).append(call)
    return [PlanRow(plan, by_plan.get(plan.id, []), numbers) for plan in rows]


@dataclass(frozen=True)
class PlanFilter:
    """What the plans are narrowed to; None is any."""

    status: str | None = None
    project_key: str | None = None
    customer_type: str | None = None
    method: str | None = None  # plans with a call made by this method (phone, sms, email, visit)
    due_from: date | None = None
    due_to: date | None = None


def require_planner(user: Actor) -> None:
    """Raise Forbidden unless the user plans and follows callbacks (the CS supervisor and those above)."""
    if not may_watch_wallboard(user):
        raise ForbiddenError(msg("your role may not plan callbacks"))


def find_plans(narrowed: PlanFilter, *, user: Actor, limit: int = 300, offset: int = 0) -> list[PlanRow]:
    """The plans of the user's projects that match, soonest due first, with their calls and linked tickets;
    ``limit`` of them from the ``offset``-th. Raise Forbidden for a role that does not plan callbacks."""
    require_planner(user)
    query = select(CallbackPlan).order_by(CallbackPlan.due_on, CallbackPlan.id).limit(limit).offset(offset)
    allowed = visible_projects(user)
    if allowed is not None:
        query = query.where(CallbackPlan.project_key.in_(allowed))
    conditions = {CallbackPlan.status: narrowed.status, CallbackPlan.project_key: narrowed.project_key,
                  CallbackPlan.customer_type: narrowed.customer_type}
    query = query.where(*(column == value for column, value in conditions.items() if value))
    if narrowed.due_from is not None:
        query = query.where(CallbackPlan.due_on >= narrowed.due_from)
    if narrowed.due_to is not None:
        query = query.where(CallbackPlan.due_on <= narrowed.due_to)
    if narrowed.method:
        query = query.where(CallbackPlan.id.in_(select(CallbackCall.plan_id)
                                                .where(CallbackCall.method == narrowed.method)))
    return with_calls(list(db.session.scalars(query)))


@dataclass(frozen=True)
class ScheduledDay:
    day: date
    plans: int
    by_customer_type: dict[str, int]


@dataclass(frozen=True)
class Schedule:
    """The plans still to start in the next days: each day's count (every day of the span, also the empty
    ones) and the plans themselves."""

    first_day: date
    last_day: date
    days: list[ScheduledDay]
    rows: list[PlanRow]


def schedule(today: date, days: int, *, user: Actor, project_key: str | None = None,
             limit: int = 1000) -> Schedule:
    """The plans (not yet started) due from ``today`` for ``days`` days; an overdue plan not yet started counts
    on ``today``. Raise Forbidden as ``find_plans``."""
    last = today + timedelta(days=days - 1)
    rows = find_plans(PlanFilter(status="planned", project_key=project_key, due_to=last), user=user, limit=limit)
    counts: dict[date, Counter[str]] = {today + timedelta(days=n): Counter() for n in range(days)}
    for row in rows:
        counts[max(row.plan.due_on, today)][row.plan.customer_type] += 1
    return Schedule(today, last, [ScheduledDay(day, sum(tally.values()), dict(tally))
                                  for day, tally in counts.items()], rows)


def plan_row(plan_id: int, *, user: Actor) -> PlanRow:
    """One plan with its calls; raise Forbidden (role) or NotFound (no such plan, or another project's)."""
    require_planner(user)
    plan = db.session.get(CallbackPlan, plan_id)
    allowed = visible_projects(user)
    if plan is None or (allowed is not None and plan.project_key not in allowed):
        raise NotFoundError(msg("no callback plan %(plan)s", plan=plan_id))
    return with_calls([plan])[0]
