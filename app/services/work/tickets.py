"""Tickets: open one (a reception instance), keep its indexed columns true, find duplicates, attach calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Update, and_, bindparam, case, func, insert, or_, select, update

from app.engine import StepResult
from app.extensions import db
from app.models import ProcessInstance, Project, Unit
from app.models import Ticket as Ticket  # re-exported: the API serializes the tickets these functions return
from app.services.access import Actor, may_record_calls
from app.services.errors import ForbiddenError, InvalidFormError, NotFoundError, msg
from app.services.figures import counters
from app.services.figures.counters import TicketRow
from app.services.handover.repairs import after_repair_step
from app.services.jobs.deadlines import WORK_DONE_STAGES, after_ticket_step, ticket_facts_of
from app.services.outreach.callback_plans import plan_after_ticket_closed
from app.services.owners.answer_texts import text_rating_link
from app.services.people.access_log import add_phone_views
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
from app.services.work.ticket_numbers import next_number
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
    # Whether the recorder sees the ticket's phone in full: they started its instance, so they took part
    # (``inbox.may_see_phone``); with ``phone_view_source`` the view is logged in the step's transaction.
    phone_in_full: bool = False
    # The ticket's row as its start left it (a ``TicketRow``: the columns of ``Ticket`` as attributes), so the answer
    # needs not read it again.
    ticket: Any = None


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
                process_id: str = RECEPTION, phone_view_source: str | None = None) -> TicketOutcome:
    """Record a call as a new ticket (a reception instance); raise Forbidden/InvalidForm/NotFound.

    ``phone_view_source``: the answer shows the recorder the phone in full (the API's), so its access-log line
    (PIPL) is written with the ticket, in the same transaction.
    """
    plan = plan_start(rt, process_id, intake, user=user)
    refuse_overlong(plan.data, INTAKE_COLUMNS)  # a designer's copy of the intake form may allow more
    project_key = str(plan.data.get("project", ""))
    # Read first: the project check below then finds the project in the session instead of reading it again.
    place = _find_place(project_key, str(plan.data.get("unit", "")))
    _require_project(project_key, user)
    return open_planned_ticket(rt, plan, user=user, reopened_from=reopened_from, phone_view_source=phone_view_source,
                               place=place)


def open_planned_ticket(rt: Runtime, plan: StartPlan, *, user: Actor | None, reopened_from: Ticket | None = None,
                        phone_view_source: str | None = None, place: Any = None) -> TicketOutcome:
    """Open the ticket of a checked start; ``user`` None is a channel without staff (the owners' own pages,
    services/owners/tickets.py, which checks the owner's units itself). ``place``: ``_find_place``'s row, when the
    caller read it."""
    project_key = str(plan.data.get("project", ""))
    # Held while the instance starts: the start's own project check (``instances.project_of``) then finds the
    # project in the session instead of reading it again (the session keeps only what is referenced).
    if place is None:
        place = _find_place(project_key, str(plan.data.get("unit", "")))
    unit: Unit | None = place[1] if place is not None else None
    now = rt.clock.now()
    number = next_number(now, rt.timezone)  # on PostgreSQL committed at once (a failed intake leaves a gap)
    system_data = {
        "ticket_number": number, "reported_at": now.isoformat(),
        "handover_date": unit.handover_date.isoformat() if unit and unit.handover_date else None,
        # A place that is not a registered unit (a car park, a lobby) is a common part.
        "common_area": unit is None or unit.is_common_area,
        "reopened_from": reopened_from.number if reopened_from else None,
        "escalation_level": REOPENED_ESCALATION if reopened_from else 0, "rework_count": 0,
    }
    created: dict[str, TicketRow] = {}

    def write_ticket(instance_id: int, result: StepResult | None) -> None:
        values = _ticket_values(plan.data, system_data, number, instance_id, now, user.id if user else None,
                                reopened_from)
        if result is not None:  # the start's own columns, in the same insert
            values |= _synced_values(TicketRow(**(_NO_COLUMNS | values)), result, now)
        ticket = TicketRow.of(db.session.connection().execute(_INSERT_TICKET, values).one()._mapping)
        created["ticket"] = ticket
        # The new ticket's open tasks are the start's (created now); it has no step rung yet.
        new_tasks = [(view.task_id, now, view.due_at) for view in result.ready_tasks if view.due_at is not None] \
            if result is not None else []
        owner_call = after_ticket_step(ticket.id, None, result.data if result else {}, now=now,
                                       timezone=rt.timezone, calendar=rt.calendar, after=ticket_facts_of(ticket),
                                       new_tasks=new_tasks)
        if owner_call is not None:
            phone_the_owner(rt, owner_call, user=user, now=now)
        if result is not None:
            flag_unknown_warranty(ticket.id, result.data, now=now, ticket=ticket)
        if result is not None and result.data.get("night_emergency"):
            alert_night_emergency(rt, ticket.id, instance_id, result.data, now=now)
        if plan.data.get("category") == "repair" and plan.data.get("part") and _flag_repeat_repair(
                ticket.id, project_key, str(plan.data["unit"]), str(plan.data["part"]), now):
            ticket.repeat_repair = True
        counters.count_new_ticket(ticket.id, timezone=rt.timezone, data=plan.data, ticket=ticket)  # admin's figures
        if phone_view_source is not None and user is not None and ticket.phone:
            add_phone_views(user, [number], source=phone_view_source, now=now)

    outcome = run_start(rt, plan, user=user, system_data=system_data, also_write=write_ticket)
    ticket = created["ticket"]
    return TicketOutcome(number, ticket.id, outcome, phone_in_full=user is not None, ticket=ticket)


TICKETS = Ticket.__table__
# Built once and run with the values as parameters (building and keying the statement per ticket costs more than
# running it).
_INSERT_TICKET = insert(TICKETS).returning(*TICKETS.c)
_NO_COLUMNS = dict.fromkeys(TICKETS.c.keys())


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

    Runs inside the step's transaction, so the ticket never disagrees with its instance. The ticket is read once
    (with what it contributed to the counters last) and its update returns it as the step leaves it: every
    hook below gets that row instead of reading the ticket again.
    """
    now = rt.clock.now()
    before = counters.read_ticket(ticket_id)
    if before is None:
        return  # a ticket's instance has its ticket (foreign key): nothing to keep in step
    after = _write_synced_columns(before, result, now)
    owner_call = after_ticket_step(ticket_id, ticket_facts_of(before), result.data, now=now, timezone=rt.timezone,
                                   calendar=rt.calendar, after=ticket_facts_of(after))
    if owner_call is not None:
        phone_the_owner(rt, owner_call, user=user, now=now)
    flag_unknown_warranty(ticket_id, result.data, now=now, ticket=after)
    text_rating_link(ticket_id, result, now=now, ticket=after)  # the owner may rate before the call (issue 15)
    if result.status == "completed" and result.data.get("reopen_as_complaint") and not after.reopened:
        original = db.session.get(Ticket, ticket_id)
        if original is not None:
            # The new complaint is recorded in the name of whoever recorded the original: the step
            # that reopens it may be a manager's review or a timer, neither of whom opens tickets.
            recorder = principal_for_user(original.received_by_id) if original.received_by_id else None
            acting = recorder or user
            if acting is not None:
                _reopen_as_complaint(rt, original, result.data, user=acting)
                after.reopened, after.closed_first_time = True, False
    counters.count_step(ticket_id, timezone=rt.timezone, data=result.data, ticket=after)  # the admin's figures
    # a handover defect's last repair done: the owner re-inspects (its unit was read with the ticket)
    after_repair_step(rt, result, unit_id=after.defect_unit_id)
    if result.status == "completed":  # a closed complaint or repeat repair gets its planned follow-up call
        plan_after_ticket_closed(ticket_id, result.data, now=now, timezone=rt.timezone, ticket=after)


def _write_synced_columns(before: TicketRow, result: StepResult, now: datetime) -> TicketRow:
    """Write the columns the step changed; the ticket as it now stands (``before`` itself when nothing changed)."""
    values: dict[str, Any] = _synced_values(before, result, now)
    if not values:
        return before
    statement = _update_of(tuple(sorted(values)))
    parameters = {f"new_{column}": value for column, value in values.items()}
    row = db.session.connection().execute(statement, {**parameters, "ticket_id_": before.id}).one()
    return TicketRow.of(row._mapping, counted=before)


@lru_cache(maxsize=256)
def _update_of(columns: tuple[str, ...]) -> Update:
    """The update of these columns, returning the ticket: built once per set of columns (a step's kind of change)
    and run with the values as parameters ``new_<column>``."""
    values: dict[str, Any] = {column: bindparam(f"new_{column}", type_=TICKETS.c[column].type) for column in columns}
    if "escalation_level" in values:  # a level once reached stays, whichever branch (or job) moved last
        level = values["escalation_level"]
        values["escalation_level"] = case((TICKETS.c.escalation_level > level, TICKETS.c.escalation_level),
                                          else_=level)
    if "closed_in_time" in values:  # judged once
        values["closed_in_time"] = func.coalesce(TICKETS.c.closed_in_time, values["closed_in_time"])
    return update(TICKETS).where(TICKETS.c.id == bindparam("ticket_id_")).values(values).returning(*TICKETS.c)


def _synced_values(ticket: TicketRow, result: StepResult, now: datetime) -> dict[str, Any]:
    """The columns ``result`` changes on ``ticket`` (those it leaves as they are are not written again)."""
    data = result.data
    refuse_overlong(data, SYNCED_COLUMNS)
    values: dict[str, Any] = {column: data[name] for name, column in SYNCED_COLUMNS.items() if name in data}
    if "escalation_level" in values:  # a level once reached stays, whichever branch moved last
        values["escalation_level"] = max(int(values["escalation_level"] or 0), int(ticket.escalation_level or 0))
    for moment in ("due_at", "appointment_at"):
        if isinstance(data.get(moment), str) and data[moment]:
            values[moment] = datetime.fromisoformat(data[moment])
    if result.status == "completed" or data.get("stage") in WORK_DONE_STAGES:
        # Timeliness (及时率) is judged when the work is done, not after the callback's waiting.
        due = values.get("due_at") or ticket.due_at
        values["closed_in_time"] = ticket.closed_in_time if ticket.closed_in_time is not None else (
            due is None or now <= due)
    if result.status == "completed":
        values["closed_at"] = now
        values["stage"] = "closed"
        values["closed_first_time"] = not data.get("reopen_as_complaint") and not data.get("rework_count")
    if "description" in values and "caller_name" in data:  # the search index follows the description
        values["search_text"] = _search_text_of(data["caller_name"], values["description"])
    values |= wait_columns(result)  # what it waits for now, in the step's transaction
    return {column: value for column, value in values.items() if getattr(ticket, column) != value}


@lru_cache(maxsize=1024)
def _search_text_of(caller: Any, description: Any) -> str | None:
    """``search_text``, computed once per caller and description in a process: every step of a ticket carries both
    unchanged, and the text is then the stored one (not written again)."""
    return search_text(caller, description)


def _reopen_as_complaint(rt: Runtime, original: Ticket, data: Mapping[str, Any], *, user: Actor) -> None:
    db.session.execute(update(Ticket).where(Ticket.id == original.id)
                       .values(reopened=True, closed_first_time=False))
    intake = {key: data[key] for key in ("project", "unit", "caller_name", "phone", "channel") if key in data}
    intake |= {"category": "complaint", "urgency": "urgent", "emergency": False,
               "description": f"回访不满意，原工单 {original.number} 重新投诉 / dissatisfied at callback of "
                              f"{original.number}: {data.get('remarks') or data.get('description') or ''}".strip()}
    open_ticket(rt, intake, user=user, reopened_from=original)


def _require_project(project_key: str, user: Actor) -> None:
    if db.session.get(Project, project_key) is None:
        raise InvalidFormError(msg("unknown project"), errors={"project": "unknown project"})
    allowed = visible_projects(user)
    if allowed is not None and project_key not in allowed:
        raise ForbiddenError(msg("you are not assigned to this project"))


def _find_place(project_key: str, code: str) -> Any:
    """The project and the unit (None: a place that is not a registered unit) as one row, in one statement."""
    return db.session.execute(_PLACE, {"project_key": project_key, "code": code}).first()


_PLACE = (select(Project, Unit).outerjoin(Unit, and_(Unit.project_key == Project.key, Unit.code == bindparam("code")))
          .where(Project.key == bindparam("project_key")))


def _flag_repeat_repair(ticket_id: int, project_key: str, unit_code: str, part: str, now: datetime) -> bool:
    """A repair of the same unit and part within the repeat window (a setting) after a finished one is flagged
    on both (返修); True when it was. Only repairs that were carried out count: a cancelled or withdrawn order
    repaired nothing."""
    earlier = db.session.connection().execute(_EARLIER_REPAIRS, {
        "project_key": project_key, "unit_code": unit_code, "part": part, "ticket_id": ticket_id,
        "since": now - _days_setting("repeat_repair_window_days")}).scalars().all()
    if earlier:
        db.session.execute(update(Ticket).where(Ticket.id.in_([*earlier, ticket_id])).values(repeat_repair=True))
    return bool(earlier)


_EARLIER_REPAIRS = select(TICKETS.c.id).where(  # built once
    TICKETS.c.project_key == bindparam("project_key"), TICKETS.c.unit_code == bindparam("unit_code"),
    TICKETS.c.category == "repair", TICKETS.c.part == bindparam("part"), TICKETS.c.id != bindparam("ticket_id"),
    TICKETS.c.outcome.in_(FINISHED_REPAIR_OUTCOMES), TICKETS.c.closed_at >= bindparam("since"))


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
