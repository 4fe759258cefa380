"""Tickets: open one (a reception instance), keep its indexed columns true, find duplicates, attach calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.engine import StepResult
from app.extensions import db
from app.models import ProcessInstance, Project, TicketCounter, Unit
from app.models import Ticket as Ticket  # re-exported: the API serializes the tickets these functions return
from app.services.access import Actor, may_record_calls
from app.services.errors import ForbiddenError, InvalidFormError, NotFoundError, msg
from app.services.figures import counters
from app.services.handover.repairs import after_repair_step
from app.services.jobs.deadlines import WORK_DONE_STAGES, after_ticket_step, ticket_facts
from app.services.outreach.callback_plans import plan_after_ticket_closed
from app.services.owners.answer_texts import text_rating_link
from app.services.people.auth import principal_for_user
from app.services.people.organisation import visible_projects
from app.services.runtime import BundleFacts, Runtime
from app.services.settings import get_setting
from app.services.steps.plan import InstanceOutcome, record_event
from app.services.work.chasing import chase_ticket
from app.services.work.forms import clean_submission
from app.services.work.instances import StartPlan, plan_start, run_start, start_form, start_instance, ticket_kind
from app.services.work.reception_alerts import alert_night_emergency, phone_the_owner
from app.services.work.repair_flags import flag_unknown_warranty
from app.services.work.search_text import search_text, unit_key
from app.services.work.ticket_columns import INTAKE_COLUMNS, SYNCED_COLUMNS, refuse_overlong
from app.services.work.waiting import wait_columns

RECEPTION = "reception"
# What a repeated call records (the intake form's fields about the call).
CALL_FIELDS = ("caller_name", "phone", "description", "channel")
# What open_ticket puts in a ticket's start data (docs/flow-contract.md); diagrams may read these.
SYSTEM_VARIABLES = frozenset({"ticket_number", "reported_at", "handover_date", "common_area", "reopened_from",
                              "escalation_level", "rework_count"})
REOPENED_ESCALATION = 2
# How a repair that was carried out ends: resolved, or resolved but the callback found nobody.
FINISHED_REPAIR_OUTCOMES = ("resolved", "unreachable")



@dataclass(frozen=True)
class TicketOutcome:
    number: str
    ticket_id: int
    instance: InstanceOutcome


def start_process(rt: Runtime, process_id: str, data: Any, *, user: Actor) -> tuple[InstanceOutcome, str | None]:
    """The generic start: a process whose start form records a call opens a ticket, exactly as
    ``open_ticket``; a process that runs only inside a ticket is refused (TicketProcessError, 409).

    Returns the instance and the ticket number (None when the process is not a ticket's).
    """
    if ticket_kind(plan_start(rt, process_id, data, user=user).facts) == "intake":
        opened = open_ticket(rt, data, user=user, process_id=process_id)
        return opened.instance, opened.number
    return start_instance(rt, process_id, data, user=user), None


def open_ticket(rt: Runtime, intake: Any, *, user: Actor, reopened_from: Ticket | None = None,
                process_id: str = RECEPTION) -> TicketOutcome:
    """Record a call as a new ticket (a reception instance); raise Forbidden/InvalidForm/NotFound."""
    plan = plan_start(rt, process_id, intake, user=user)
    refuse_overlong(plan.data, INTAKE_COLUMNS)  # a designer's copy of the intake form may allow more
    _require_project(str(plan.data.get("project", "")), user)
    return open_planned_ticket(rt, plan, user=user, reopened_from=reopened_from)


def open_planned_ticket(rt: Runtime, plan: StartPlan, *, user: Actor | None,
                        reopened_from: Ticket | None = None) -> TicketOutcome:
    """Open the ticket of a checked start; ``user`` None is a channel without staff (the owners' own pages,
    services/owners/tickets.py, which checks the owner's units itself)."""
    project_key = str(plan.data.get("project", ""))
    unit = _find_unit(project_key, str(plan.data.get("unit", "")))
    now = rt.clock.now()
    number = _next_number(now, rt.timezone)
    system_data = {
        "ticket_number": number, "reported_at": now.isoformat(),
        "handover_date": unit.handover_date.isoformat() if unit and unit.handover_date else None,
        # A place that is not a registered unit (a car park, a lobby) is a common part.
        "common_area": unit is None or unit.is_common_area,
        "reopened_from": reopened_from.number if reopened_from else None,
        "escalation_level": REOPENED_ESCALATION if reopened_from else 0, "rework_count": 0,
    }
    created: dict[str, int] = {}

    def write_ticket(instance_id: int, result: StepResult | None) -> None:
        values = _ticket_values(plan.data, system_data, number, instance_id, now, user.id if user else None,
                                reopened_from)
        created["id"] = db.session.execute(insert(Ticket).values(values).returning(Ticket.id)).scalar_one()
        if result is not None:
            _sync_columns(created["id"], result, now)
        owner_call = after_ticket_step(created["id"], None, result.data if result else {}, now=now,
                                       timezone=rt.timezone, calendar=rt.calendar)
        if owner_call is not None:
            phone_the_owner(rt, owner_call, user=user, now=now)
        if result is not None:
            flag_unknown_warranty(created["id"], result.data, now=now)
        if result is not None and result.data.get("night_emergency"):
            alert_night_emergency(rt, created["id"], instance_id, result.data, now=now)
        if plan.data.get("category") == "repair" and plan.data.get("part"):
            _flag_repeat_repair(created["id"], project_key, str(plan.data["unit"]), str(plan.data["part"]), now)
        counters.count_new_ticket(created["id"], timezone=rt.timezone, data=plan.data)  # dashboard counters (admin)

    outcome = run_start(rt, plan, user=user, system_data=system_data, also_write=write_ticket)
    return TicketOutcome(number, created["id"], outcome)


def _ticket_values(data: Mapping[str, Any], system: Mapping[str, Any], number: str, instance_id: int,
                   now: datetime, user_id: int | None, reopened_from: Ticket | None) -> dict[str, Any]:
    return {
        **{column: data.get(name) for name, column in INTAKE_COLUMNS.items()}, "number": number,
        "instance_id": instance_id, "stage": "intake", "escalation_level": system["escalation_level"],
        "received_at": now, "received_by_id": user_id, "reopened_from_id": reopened_from.id if reopened_from else None,
        "search_text": search_text(data.get("caller_name"), data.get("description")),
        "unit_key": unit_key(data.get("unit")),
    }


def sync_ticket_after_step(rt: Runtime, ticket_id: int, result: StepResult, *, user: Actor | None) -> None:
    """Copy the step's ticket variables to the ticket's columns; close it, and reopen as a complaint if asked.

    Runs inside the step's transaction, so the ticket never disagrees with its instance.
    """
    before = ticket_facts(ticket_id)
    _sync_columns(ticket_id, result, rt.clock.now())
    owner_call = after_ticket_step(ticket_id, before, result.data, now=rt.clock.now(), timezone=rt.timezone,
                                   calendar=rt.calendar)
    if owner_call is not None:
        phone_the_owner(rt, owner_call, user=user, now=rt.clock.now())
    flag_unknown_warranty(ticket_id, result.data, now=rt.clock.now())
    text_rating_link(ticket_id, result, now=rt.clock.now())  # the owner may rate before the call (issue 15)
    if result.status == "completed" and result.data.get("reopen_as_complaint"):
        original = db.session.get(Ticket, ticket_id)
        if original is not None and not original.reopened:
            # The new complaint is recorded in the name of whoever recorded the original: the step
            # that reopens it may be a manager's review or a timer, neither of whom opens tickets.
            recorder = principal_for_user(original.received_by_id) if original.received_by_id else None
            acting = recorder or user
            if acting is not None:
                _reopen_as_complaint(rt, original, result.data, user=acting)
    counters.count_step(ticket_id, timezone=rt.timezone, data=result.data)  # dashboard counters (admin issue)
    after_repair_step(rt, ticket_id, result)  # a handover defect's last repair done: the owner re-inspects
    if result.status == "completed":  # a closed complaint or repeat repair gets its planned follow-up call
        plan_after_ticket_closed(ticket_id, result.data, now=rt.clock.now(), timezone=rt.timezone)


def _sync_columns(ticket_id: int, result: StepResult, now: datetime) -> None:
    data = result.data
    refuse_overlong(data, SYNCED_COLUMNS)
    values: dict[str, Any] = {column: data[name] for name, column in SYNCED_COLUMNS.items() if name in data}
    if "escalation_level" in values:  # a level once reached stays, whichever branch moved last
        level = int(values["escalation_level"] or 0)
        values["escalation_level"] = case((Ticket.escalation_level > level, Ticket.escalation_level), else_=level)
    for moment in ("due_at", "appointment_at"):
        if isinstance(data.get(moment), str) and data[moment]:
            values[moment] = datetime.fromisoformat(data[moment])
    if result.status == "completed" or data.get("stage") in WORK_DONE_STAGES:
        # Timeliness (及时率) is judged when the work is done, not after the callback's waiting.
        due = values.get("due_at") or db.session.scalar(select(Ticket.due_at).where(Ticket.id == ticket_id))
        values["closed_in_time"] = func.coalesce(Ticket.closed_in_time, due is None or now <= due)
    if result.status == "completed":
        values["closed_at"] = now
        values["stage"] = "closed"
        values["closed_first_time"] = not data.get("reopen_as_complaint") and not data.get("rework_count")
    if "description" in values and "caller_name" in data:  # the search index follows the description
        values["search_text"] = search_text(data["caller_name"], values["description"])
    values |= wait_columns(result)  # what it waits for now, in the step's transaction
    db.session.execute(update(Ticket).where(Ticket.id == ticket_id).values(values))


def _reopen_as_complaint(rt: Runtime, original: Ticket, data: Mapping[str, Any], *, user: Actor) -> None:
    db.session.execute(update(Ticket).where(Ticket.id == original.id)
                       .values(reopened=True, closed_first_time=False))
    intake = {key: data[key] for key in ("project", "unit", "caller_name", "phone", "channel") if key in data}
    intake |= {"category": "complaint", "urgency": "urgent", "emergency": False,
               "description": f"回访不满意，原工单 {original.number} 重新投诉 / dissatisfied at callback of "
                              f"{original.number}: {data.get('remarks') or data.get('description') or ''}".strip()}
    open_ticket(rt, intake, user=user, reopened_from=original)


def _next_number(now: datetime, timezone: str) -> str:
    """KF-YYYYMMDD-NNNN, sequential per business day; an atomic upsert keeps it unique under concurrency."""
    day = now.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")
    dialect = db.session.connection().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TicketCounter)
    statement = upsert.values(day=day, last_number=1).on_conflict_do_update(
        index_elements=[TicketCounter.day], set_={"last_number": TicketCounter.last_number + 1},
    ).returning(TicketCounter.last_number)
    return f"KF-{day}-{db.session.execute(statement).scalar_one():04d}"


def _require_project(project_key: str, user: Actor) -> None:
    if db.session.get(Project, project_key) is None:
        raise InvalidFormError(msg("unknown project"), errors={"project": "unknown project"})
    allowed = visible_projects(user)
    if allowed is not None and project_key not in allowed:
        raise ForbiddenError(msg("you are not assigned to this project"))


def _find_unit(project_key: str, code: str) -> Unit | None:
    return db.session.scalars(select(Unit).where(Unit.project_key == project_key, Unit.code == code)).first()


def _flag_repeat_repair(ticket_id: int, project_key: str, unit_code: str, part: str, now: datetime) -> None:
    """A repair of the same unit and part within the repeat window (a setting) after a finished one is flagged
    on both (返修). Only repairs that were carried out count: a cancelled or withdrawn order repaired nothing."""
    earlier = db.session.scalars(
        select(Ticket.id).where(Ticket.project_key == project_key, Ticket.unit_code == unit_code,
                                Ticket.category == "repair", Ticket.part == part, Ticket.id != ticket_id,
                                Ticket.outcome.in_(FINISHED_REPAIR_OUTCOMES),
                                Ticket.closed_at >= now - _days_setting("repeat_repair_window_days"))
    ).all()
    if earlier:
        db.session.execute(update(Ticket).where(Ticket.id.in_([*earlier, ticket_id])).values(repeat_repair=True))


def _days_setting(key: str) -> timedelta:
    return timedelta(days=int(get_setting(key)))


def find_duplicates(*, project_key: str, unit_code: str, category: str, user: Actor, now: datetime) -> list[Ticket]:
    """Open or recent tickets of the same unit and category (合并工单 candidates), newest first."""
    allowed = visible_projects(user)
    if allowed is not None and project_key not in allowed:
        return []
    return list(db.session.scalars(
        select(Ticket).where(Ticket.project_key == project_key, Ticket.unit_code == unit_code,
                             Ticket.category == category,
                             or_(Ticket.closed_at.is_(None),
                                 Ticket.received_at >= now - _days_setting("duplicate_window_days")))
        .order_by(Ticket.received_at.desc()).limit(20)
    ))


def attach_call(rt: Runtime, number: str, call: Any, *, user: Actor) -> Ticket:
    """Record a repeated call on an existing ticket instead of dispatching it twice.

    Only those who may record the call as a new ticket may (Forbidden); the call is checked by the
    ticket's intake form, field by field (InvalidForm); recording it grants no right on the ticket.
    """
    ticket = ticket_by_number(number, user=user)
    spec_key = db.session.scalar(select(ProcessInstance.spec_key).where(ProcessInstance.id == ticket.instance_id))
    facts = rt.bundles.get(cast(str, spec_key))  # a ticket's instance exists (foreign key)
    if not may_record_calls(user, facts.start_roles):
        raise ForbiddenError(msg("your role may not record calls"))
    recorded = clean_submission(_call_form(facts), call)
    now = rt.clock.now()
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id)
                       .values(attached_calls=Ticket.attached_calls + 1))
    record_event(ticket.instance_id, "call_attached", at=now, actor_id=user.id,
                 data={key: recorded.get(key) for key in CALL_FIELDS})
    if ticket.closed_at is None:  # a call about an open ticket chases it (催办)
        chase_ticket(ticket, now=now, actor_id=user.id)
    counters.count_ticket(ticket.id, timezone=rt.timezone)  # dashboard counters (admin issue)
    db.session.commit()
    return ticket_by_number(number, user=user)


_CALL_FORMS: dict[str, dict[str, Any]] = {}


def _call_form(facts: BundleFacts) -> dict[str, Any]:
    """The intake form's call fields (who called, their number, what they said, how), none of them required.

    Kept per bundle: the form validator is cached by the schema's identity.
    """
    form = _CALL_FORMS.get(facts.spec_key)
    if form is None:
        properties = (start_form(facts) or {}).get("properties") or {}
        form = {"type": "object", "properties": {key: properties[key] for key in CALL_FIELDS if key in properties}}
        _CALL_FORMS[facts.spec_key] = form
    return form


def ticket_by_number(number: str, *, user: Actor) -> Ticket:
    ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)
                                .execution_options(populate_existing=True)).first()
    if ticket is None:
        raise NotFoundError(msg("no ticket %(number)s", number=number))
    allowed = visible_projects(user)
    if allowed is not None and ticket.project_key not in allowed:
        raise NotFoundError(msg("no ticket %(number)s", number=number))
    return ticket
