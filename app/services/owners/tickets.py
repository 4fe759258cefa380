"""An owner's tickets: only those of the units registered to their number (and what they reported in their
projects' common areas); anything else is NotFound, so the pages answer 404 and say nothing of others.

``report`` opens a ticket from the owner's pages: the same reception flow as a call, with channel ``online``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, false, or_, select

from app.extensions import db
from app.models import AuditEvent, Bundle, Ticket, Unit
from app.services.errors import InvalidFormError, NotFoundError, msg
from app.services.owners.identity import OwnerPrincipal, OwnerUnit, common_areas
from app.services.runtime import Runtime
from app.services.work.forms import clean_submission
from app.services.work.instances import StartPlan, start_form
from app.services.work.tickets import RECEPTION, open_planned_ticket
from app.services.work.uploads import STORED_NAME

# What the owner told us at the start (the intake's fields), not staff's working notes.
GIVEN_AT_START = ("project", "unit", "caller_name", "phone", "channel", "category", "description",
                  "desired_completion_at", "photo")
# What an owner may report (the desk records more: life service, praise…)
OWNER_CATEGORIES = ("repair", "complaint", "consultation", "suggestion")
MAX_DESCRIPTION = 1000


@dataclass(frozen=True)
class Report:
    """What the owner's report form sends: the place (a unit id of theirs or a common area), what and when."""

    unit_id: int | None
    category: str
    description: str
    desired_completion_at: str | None = None  # seed 002 field h, RFC 3339
    photo: str | None = None  # upload:<name>, stored by the web layer


def owner_ticket_filter(owner: OwnerPrincipal) -> ColumnElement[bool]:
    """Tickets of the owner's units, and those they reported (their number) in their projects."""
    places = [and_(Ticket.project_key == unit.project_key, Ticket.unit_code == unit.code) for unit in owner.units]
    if not places:
        return false()
    reported = and_(Ticket.phone == owner.phone, Ticket.project_key.in_(owner.project_keys))
    return or_(*places, reported)


def owner_tickets(owner: OwnerPrincipal, *, limit: int = 50) -> list[Ticket]:
    """The owner's tickets, newest first."""
    return list(db.session.scalars(select(Ticket).where(owner_ticket_filter(owner))
                                   .order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(limit)))


def owner_ticket(owner: OwnerPrincipal, number: str) -> Ticket:
    """One of the owner's tickets; raise NotFoundError for any other number (another owner's, or none)."""
    ticket = db.session.scalars(select(Ticket).where(Ticket.number == number, owner_ticket_filter(owner))
                                .execution_options(populate_existing=True)).first()
    if ticket is None:
        raise NotFoundError(msg("no ticket %(number)s", number=number))
    return ticket


def places_to_report(owner: OwnerPrincipal) -> list[OwnerUnit]:
    """The owner's units, then the common areas of their projects."""
    return [*owner.units, *common_areas(owner.project_keys)]


def report(rt: Runtime, owner: OwnerPrincipal, what: Report) -> str:
    """Open a ticket from the owner's report (channel ``online``); its number. Raise NotFound for a place
    that is not theirs, InvalidForm for a missing or wrong field (with the field named)."""
    place = next((unit for unit in places_to_report(owner) if unit.unit_id == what.unit_id), None)
    if place is None:
        raise NotFoundError(msg("no such unit"))
    _check_report(what)
    intake: dict[str, Any] = {
        "project": place.project_key, "unit": place.code, "caller_name": _caller_name(owner, place),
        "phone": owner.phone, "channel": "online", "category": what.category,
        "description": what.description.strip(), "urgency": "normal", "emergency": False,
    }
    if what.desired_completion_at:
        intake["desired_completion_at"] = what.desired_completion_at
    if what.photo:
        intake["photo"] = what.photo
    return open_planned_ticket(rt, _plan(rt, intake), user=None).number


def _check_report(what: Report) -> None:
    errors: dict[str, Any] = {}
    if what.category not in OWNER_CATEGORIES:
        errors["category"] = msg("choose what kind of request this is")
    if not what.description.strip():
        errors["description"] = msg("describe the problem")
    elif len(what.description) > MAX_DESCRIPTION:
        errors["description"] = msg("at most %(count)s characters", count=MAX_DESCRIPTION)
    if what.desired_completion_at:
        try:
            datetime.fromisoformat(what.desired_completion_at)
        except ValueError:
            errors["desired_completion_at"] = msg("not a date and time")
    if errors:
        raise InvalidFormError(msg("the form has errors"), errors=errors)


def _caller_name(owner: OwnerPrincipal, place: OwnerUnit) -> str:
    if place.relation == "owner":
        name = db.session.scalar(select(Unit.owner_name).where(Unit.id == place.unit_id))
        if name:
            return str(name)
    return "租户" if place.relation == "tenant" else "业主"


def _plan(rt: Runtime, intake: dict[str, Any]) -> StartPlan:
    """The latest reception's start, checked by its intake form (no staff role: the owner starts it)."""
    latest = db.session.execute(select(Bundle.id, Bundle.spec_key).where(Bundle.process_id == RECEPTION)
                                .order_by(Bundle.version.desc()).limit(1)).first()
    if latest is None:
        raise NotFoundError(msg("no deployed process '%(process_id)s'", process_id=RECEPTION))
    facts = rt.bundles.get(latest.spec_key)
    return StartPlan(latest.id, facts.spec_key, facts, clean_submission(start_form(facts), intake))


def require_owner_upload(owner: OwnerPrincipal, number: str, name: str) -> None:
    """Return when the photo ``name`` belongs to one of the owner's tickets; raise NotFoundError otherwise."""
    ticket = owner_ticket(owner, number)
    if STORED_NAME.fullmatch(name) is None or db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.instance_id == ticket.instance_id,
            cast(AuditEvent.data, Text).like(f'%"upload:{name}"%')).limit(1)) is None:
        raise NotFoundError(msg("no file %(name)s", name=name))


def given_at_start(instance_id: int) -> dict[str, Any]:
    """What was recorded when the ticket was opened (the owner's report or the call), field by field."""
    data = db.session.scalar(select(AuditEvent.data).where(AuditEvent.instance_id == instance_id,
                                                           AuditEvent.action == "start").limit(1)) or {}
    return {key: data[key] for key in GIVEN_AT_START if key in data}


def photo_of(ticket: Ticket) -> str | None:
    """The stored name of the photo the ticket was reported with, or None."""
    reference = given_at_start(ticket.instance_id).get("photo")
    return str(reference).removeprefix("upload:") if isinstance(reference, str) and reference else None
