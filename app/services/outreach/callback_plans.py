"""Who is due a planned callback (定期回访): the plan rows, filled from events and by a supervisor's monthly plan.

Events: a complaint closed and a repeat repair closed (``plan_after_ticket_closed``, called in the step that
closes the ticket), a unit handed over (``plan_new_owners``, by the daily job), a warranty or a property-service
contract ending within two months (``plan_expiring``, by the daily job). A supervisor plans a month
for a customer type and a project or building (``plan_period``): the owners are spread over the working days.
Each plan is written once per reason (``reason_key``), so an event seen twice plans nothing more. The daily
job (``planned_callbacks.py``) starts the process ``planned_callback`` for the plans due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Integer, case, func, literal, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from app.engine import WorkingCalendar
from app.extensions import db
from app.models import Project, Ticket, Unit
from app.models.outreach import PLANNED_CALLBACKS_JOB, CallbackCall, CallbackPlan
from app.services.access import Actor
from app.services.errors import ForbiddenError, InvalidFormError, NotFoundError, msg
from app.services.outreach.callback_schedule import require_planner
from app.services.people.organisation import visible_projects
from app.services.steps.job_rows import JOBS

CUSTOMER_TYPES = ("new_owner", "closed_complaint", "repeat_repair", "vip", "warranty_expiring",
                  "contract_expiring", "regular")
FIRST_CALL_AFTER_HANDOVER = timedelta(days=7)  # a week with the keys: the first impressions (seed 001 新增用户)
NEW_OWNER_WINDOW = timedelta(days=30)  # units handed over this long ago still get their new-owner calls
FOLLOW_UP_AFTER_CLOSE = timedelta(days=14)  # a closed complaint or repeat repair: is it still solved?
# Warranties end this long after handover (warranty.dmn, 建设工程质量管理条例 art. 40): electrical, plumbing,
# equipment and decoration 2 years, waterproofing (roof, kitchen, bathroom, exterior walls) 5 years. Heating
# seasons and the structure's design life are not called about.
WARRANTY_YEARS = (2, 5)
EXPIRY_LOOKAHEAD = timedelta(days=62)  # a warranty or contract ending within two months is "about to expire"
CALL_BEFORE_EXPIRY = timedelta(days=30)  # called a month before it ends, so there is time to report or renew
MAX_PERIOD_DAYS = 62
SATISFIED = ("very_satisfied", "satisfied")
DAILY_RUN_HOUR = 8  # the daily job runs at 08:00 business time, before the desk opens


@dataclass(frozen=True)
class PlanRequest:
    """A supervisor's month of callbacks: a customer type, a project (and building), a first and last day."""

    customer_type: str
    project_key: str
    building: str | None
    first_day: str
    last_day: str


# --- writing plans --------------------------------------------------------------------------------------------

def _insert_plan(values: Mapping[str, Any], now: datetime, timezone: str) -> bool:
    """Insert one plan unless its reason is planned already; True when a row was written. Schedules the daily job."""
    connection = db.session.connection()
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(CallbackPlan.__table__)
    written = connection.execute(insert.values(**values, status="planned", created_at=now)
                                 .on_conflict_do_nothing(index_elements=["reason_key"])
                                 .returning(CallbackPlan.__table__.c.id)).scalar()  # None: planned already
    if written is not None:
        ensure_daily_job(connection, now=now, timezone=timezone)
    return written is not None


def ensure_daily_job(connection: Connection, *, now: datetime, timezone: str) -> None:
    """Create the daily job (08:00 business time) unless it exists; run in the caller's transaction."""
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(JOBS)
    connection.execute(insert.values(
        key=PLANNED_CALLBACKS_JOB, kind=PLANNED_CALLBACKS_JOB, due_at=next_daily_run(now, timezone),
        retries_left=3, attempts=0, created_at=now).on_conflict_do_nothing(index_elements=["key"]))


def next_daily_run(now: datetime, timezone: str) -> datetime:
    """08:00 business time, the first one strictly after ``now``."""
    local = now.astimezone(ZoneInfo(timezone))
    run = local.replace(hour=DAILY_RUN_HOUR, minute=0, second=0, microsecond=0)
    return run if run > local else run + timedelta(days=1)


def _unit_values(unit: Unit) -> dict[str, Any]:
    return {"project_key": unit.project_key, "unit_id": unit.id, "unit_code": unit.code,
            "owner_name": unit.owner_name, "phone": unit.owner_phone}


def plan_after_ticket_closed(ticket_id: int, data: Mapping[str, Any], *, now: datetime, timezone: str,
                             ticket: Any = None) -> None:
    """Plan the follow-up call of a closed complaint or a closed repeat repair (in the closing step's transaction).

    ``ticket``: the ticket's row as the step left it, when the caller has read it (else it is read here)."""
    if ticket is None:
        ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not ticket.phone or data.get("reopen_as_complaint"):
        return  # a reopened complaint is followed by its new ticket
    if ticket.category == "complaint":
        customer_type = "closed_complaint"
    elif ticket.category == "repair" and ticket.repeat_repair:
        customer_type = "repeat_repair"
    else:
        return
    unit = db.session.scalar(select(Unit).where(Unit.project_key == ticket.project_key, Unit.code == ticket.unit_code))
    technician = data.get("technician")
    _insert_plan({
        "reason_key": f"{customer_type}:ticket:{ticket.id}", "customer_type": customer_type,
        "project_key": ticket.project_key, "unit_id": unit.id if unit else None, "unit_code": ticket.unit_code,
        "owner_name": ticket.caller, "phone": ticket.phone, "source_ticket_id": ticket.id,
        "department": ticket.department, "technician": technician if isinstance(technician, str) else None,
        "due_on": now.astimezone(ZoneInfo(timezone)).date() + FOLLOW_UP_AFTER_CLOSE,
    }, now, timezone)


def plan_new_owners(today: date, *, now: datetime, timezone: str) -> int:
    """Plan the new-owner calls of the units handed over in the last 30 days (with a phone); returns how many."""
    units = db.session.scalars(select(Unit).where(
        Unit.handover_date.between(today - NEW_OWNER_WINDOW, today), Unit.is_common_area.is_(False),
        Unit.owner_phone.is_not(None)).order_by(Unit.id)).all()
    planned = 0
    for unit in units:
        assert unit.handover_date is not None
        planned += _insert_plan({**_unit_values(unit), "reason_key": f"new_owner:unit:{unit.id}",
                                 "customer_type": "new_owner",
                                 "due_on": max(today, unit.handover_date + FIRST_CALL_AFTER_HANDOVER)}, now, timezone)
    return planned


def plan_expiring(today: date, *, now: datetime, timezone: str) -> int:
    """Plan the calls of the warranties and property-service contracts ending within ``EXPIRY_LOOKAHEAD``
    (seed 001 即将到期用户): once per unit and end date, however many days the job sees it; returns how many."""
    planned = 0
    for unit, ends_on, customer_type in _expiring(today):
        planned += _insert_plan({**_unit_values(unit), "customer_type": customer_type,
                                 "reason_key": f"{customer_type}:unit:{unit.id}:{ends_on.isoformat()}",
                                 "due_on": max(today, ends_on - CALL_BEFORE_EXPIRY)}, now, timezone)
    return planned


def _expiring(today: date) -> list[tuple[Unit, date, str]]:
    """(unit, end date, customer type) of the owners (with a phone) whose warranty or contract ends soon."""
    last = today + EXPIRY_LOOKAHEAD
    owners = (Unit.is_common_area.is_(False), Unit.owner_phone.is_not(None))
    found = [(unit, unit.contract_end_date, "contract_expiring") for unit in db.session.scalars(select(Unit).where(
        *owners, Unit.contract_end_date.between(today, last)).order_by(Unit.id)) if unit.contract_end_date]
    for years in WARRANTY_YEARS:
        # handed over between these days: the warranty of ``years`` ends between today and ``last``
        for unit in db.session.scalars(select(Unit).where(
                *owners, Unit.handover_date.between(_years_before(today, years), _years_before(last, years)))
                .order_by(Unit.id)):
            assert unit.handover_date is not None
            ends_on = _years_after(unit.handover_date, years)
            if today <= ends_on <= last:
                found.append((unit, ends_on, "warranty_expiring"))
    return found


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the warranty ends on 28 February
        return day.replace(year=day.year + years, day=28)


def _years_before(day: date, years: int) -> date:
    return _years_after(day, -years)


def plan_period(request: PlanRequest, *, user: Actor, now: datetime, timezone: str,
                calendar: WorkingCalendar) -> tuple[int, int]:
    """A supervisor's plan: every owner (with a phone) of the project or building, spread evenly over the
    working days of the period. Returns (planned, already planned). Raise Forbidden (role, project), InvalidForm,
    NotFound."""
    require_planner(user)
    first, last = _checked_period(request)
    _require_project(request.project_key, user)
    units = db.session.scalars(select(Unit).where(
        Unit.project_key == request.project_key, Unit.is_common_area.is_(False), Unit.owner_phone.is_not(None),
        *([Unit.building == request.building] if request.building else [])).order_by(Unit.code)).all()
    if not units:
        raise InvalidFormError(msg("no owner with a phone number there"), errors={"building": msg(
            "no owner with a phone number there")})
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    days = [day for day in days if calendar.is_working_day(day)] or [first]
    planned = 0
    for index, unit in enumerate(units):
        planned += _insert_plan({
            **_unit_values(unit), "reason_key": f"{request.customer_type}:unit:{unit.id}:{first.isoformat()}",
            "customer_type": request.customer_type, "planned_by_id": user.id,
            "due_on": days[index * len(days) // len(units)]}, now, timezone)
    db.session.commit()
    return planned, len(units) - planned


def _checked_period(request: PlanRequest) -> tuple[date, date]:
    errors: dict[str, Any] = {}
    if request.customer_type not in CUSTOMER_TYPES:
        errors["customer_type"] = msg("choose a customer type")
    try:
        first, last = date.fromisoformat(request.first_day), date.fromisoformat(request.last_day)
    except ValueError:
        errors["first_day"] = msg("a date such as 2026-03-02")
        first = last = date.min
    if not errors and not 0 <= (last - first).days < MAX_PERIOD_DAYS:
        errors["last_day"] = msg("the last day must be on or after the first, within %(days)s days",
                                 days=MAX_PERIOD_DAYS)
    if errors:
        raise InvalidFormError(msg("check the plan"), errors=errors)
    return first, last


def _require_project(project_key: str, user: Actor) -> None:
    if db.session.get(Project, project_key) is None:
        raise NotFoundError(msg("no project %(project)s", project=project_key))
    allowed = visible_projects(user)
    if allowed is not None and project_key not in allowed:
        raise ForbiddenError(msg("you do not work on project %(project)s", project=project_key))


def cancel_plan(plan_id: int, *, user: Actor) -> None:
    """Cancel a plan that has not started; a started (or just starting) one stays as it is: one conditional
    update decides, so the daily job and a cancel never both win. Raise Forbidden (a role that does not plan
    callbacks, a project the user does not work on) or NotFound."""
    require_planner(user)
    project_key = db.session.scalar(select(CallbackPlan.project_key).where(CallbackPlan.id == plan_id))
    if project_key is None:
        raise NotFoundError(msg("no callback plan %(plan)s", plan=plan_id))
    _require_project(project_key, user)
    db.session.execute(update(CallbackPlan).where(CallbackPlan.id == plan_id, CallbackPlan.status == "planned")
                       .values(status="cancelled"))
    db.session.commit()


# --- reading plans --------------------------------------------------------------------------------------------

def due_plans(today: date) -> list[CallbackPlan]:
    return list(db.session.scalars(select(CallbackPlan).where(
        CallbackPlan.status == "planned", CallbackPlan.due_on <= today).order_by(CallbackPlan.due_on, CallbackPlan.id)))


# --- figures for the dashboard ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SatisfactionSlice:
    value: str | None
    reached: int
    satisfied: int

    @property
    def rate(self) -> float | None:
        return self.satisfied / self.reached if self.reached else None


@dataclass(frozen=True)
class PlannedSatisfaction:
    """Satisfaction of the planned calls that reached the owner, by project, department and technician."""

    calls: int
    reached: int
    issues: int
    by_project: list[SatisfactionSlice]
    by_department: list[SatisfactionSlice]
    by_technician: list[SatisfactionSlice]


def planned_satisfaction(start: datetime, end: datetime, *,
                         project_keys: Iterable[str] | None = None) -> PlannedSatisfaction:
    """The planned calls done in [start, end) in the projects (all when None), in one statement: the totals and
    the slices of the calls that reached the owner, by project, department and technician."""
    scope = [CallbackCall.done_at >= start, CallbackCall.done_at < end]
    if project_keys is not None:
        scope.append(CallbackPlan.project_key.in_(list(project_keys)))
    calls = select().select_from(CallbackCall).join(CallbackPlan, CallbackPlan.id == CallbackCall.plan_id)
    satisfied = func.sum(case((CallbackCall.satisfaction.in_(SATISFIED), 1), else_=0), type_=Integer)
    reached = func.sum(case((CallbackCall.reached, 1), else_=0), type_=Integer)
    slices = [calls.add_columns(literal(name).label("slice"), column.label("value"), func.count().label("calls"),
                                literal(0).label("issues"), satisfied.label("counted"))
              .where(*scope, CallbackCall.reached.is_(True), column.is_not(None)).group_by(column)
              for name, column in _SLICED_BY.items()]
    totals = calls.add_columns(literal("").label("slice"), null(), func.count(), func.count(CallbackCall.ticket_id),
                               reached).where(*scope)
    found: dict[str, list[SatisfactionSlice]] = {name: [] for name in _SLICED_BY}
    calls_made = issues = reached_owner = 0
    for name, value, count, issue_count, counted in db.session.execute(union_all(*slices, totals)):
        if name:
            found[name].append(SatisfactionSlice(value, int(count), int(counted or 0)))
        else:
            calls_made, issues, reached_owner = int(count), int(issue_count), int(counted or 0)
    return PlannedSatisfaction(calls_made, reached_owner, issues,
                               *(sorted(found[name], key=lambda s: -s.reached) for name in _SLICED_BY))


_SLICED_BY = {"project": CallbackPlan.project_key, "department": CallbackPlan.department,
              "technician": CallbackPlan.technician}
