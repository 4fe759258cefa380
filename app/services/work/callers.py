"""Who is calling: the owner (or other caller) of a phone number, their units and projects, their open and recent
tickets, and what the new-ticket form can fill in from them. The same view for a unit picked on the form.

Only those who may record calls may ask (the estate's register is personal data), within their projects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, literal_column, or_, select

from app.extensions import db
from app.models import Project, Ticket, Unit
from app.services.access import Actor
from app.services.errors import InvalidRequestError, msg
from app.services.people.organisation import visible_projects
from app.services.runtime import Runtime
from app.services.work.instances import start_form_for
from app.services.work.ticket_search import PHONE_TAIL_SQL
from app.services.work.tickets import RECEPTION

RECENT_DAYS = 90
RECENT_LIMIT = 10
UNITS_LIMIT = 20
PHONE = re.compile(r"\d{4,20}")
WHOLE_NUMBER = 7  # digits: fewer are the end of a number


@dataclass(frozen=True)
class CallerUnit:
    project_key: str
    project_name: str
    code: str
    owner_name: str | None
    owner_phone: str | None
    is_owner: bool  # this phone is the registered owner's


@dataclass(frozen=True)
class Suggestion:
    """What the new-ticket form may fill in: only what the register or the tickets say without doubt."""

    project: str | None = None
    unit: str | None = None
    caller_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class CallerView:
    phone: str | None
    name: str | None  # the registered owner's name, else the name the caller last gave
    is_owner: bool
    units: list[CallerUnit]
    open_tickets: list[Ticket]
    recent_tickets: list[Ticket]  # closed within RECENT_DAYS, newest first
    suggestion: Suggestion

    @property
    def is_known(self) -> bool:
        return bool(self.units or self.open_tickets or self.recent_tickets)


def normal_phone(raw: str) -> str:
    """The digits of a typed phone number, without a +86 prefix; raise InvalidRequestError unless 4–20 digits."""
    digits = re.sub(r"[\s()-]", "", raw).removeprefix("+86")
    if not PHONE.fullmatch(digits):
        raise InvalidRequestError(msg("a phone number is 4 to 20 digits"), errors={"phone": "4 to 20 digits"})
    return digits


def caller_by_phone(rt: Runtime, raw_phone: str, *, user: Actor) -> CallerView:
    """Who calls from this number, within the user's projects; raise Forbidden, InvalidRequest.

    A whole number (7 digits or more) is matched exactly; 4 to 6 digits match the end of the numbers (the agent
    is still typing, or has only the last digits), and name what they found only when it is one number.
    """
    start_form_for(rt, RECEPTION, user=user)  # ForbiddenError unless the user may record calls
    typed = normal_phone(raw_phone)
    allowed = visible_projects(user)
    if len(typed) >= WHOLE_NUMBER:
        unit_match, ticket_match = Unit.owner_phone == typed, Ticket.phone == typed
    else:
        unit_match = Unit.owner_phone.endswith(typed, autoescape=True)
        ticket_match = (literal_column(PHONE_TAIL_SQL) == typed[-4:]) & Ticket.phone.endswith(typed, autoescape=True)
    units = _units(unit_match, allowed, phone=typed)
    open_tickets, recent = _tickets(ticket_match, allowed, now=rt.clock.now())
    tickets = [*open_tickets, *recent]
    numbers = {u.owner_phone for u in units} | {t.phone for t in tickets}
    if len(numbers) > 1:  # a few digits that end several numbers: show them, fill nothing
        return CallerView(typed, None, False, units, open_tickets, recent, Suggestion())
    phone = next(iter(numbers), None) or typed
    units = [replace(u, is_owner=u.owner_phone == phone) for u in units]
    owner = next((unit for unit in units if unit.is_owner), None)
    name = owner.owner_name if owner else next((t.caller for t in tickets if t.caller), None)
    places = {(u.project_key, u.code) for u in units} or {(t.project_key, t.unit_code) for t in tickets}
    only = next(iter(places)) if len(places) == 1 else (None, None)
    return CallerView(phone, name, owner is not None, units, open_tickets, recent,
                      Suggestion(project=only[0], unit=only[1], caller_name=name, phone=phone))


def caller_by_unit(rt: Runtime, project_key: str, code: str, *, user: Actor) -> CallerView:
    """The registered owner of a unit and the unit's open and recent tickets; raise Forbidden, InvalidRequest."""
    start_form_for(rt, RECEPTION, user=user)
    allowed = visible_projects(user)
    given = {"project": project_key, "unit": code}
    errors = {name: "required" if not value else "invalid" for name, value in given.items()
              if not value or "\x00" in value}  # PostgreSQL refuses to compare a NUL byte
    if errors:
        raise InvalidRequestError(msg("project and unit are required"), errors=errors)
    units = _units((Unit.project_key == project_key) & (Unit.code == code), allowed, phone=None)
    open_tickets, recent = _tickets((Ticket.project_key == project_key) & (Ticket.unit_code == code), allowed,
                                    now=rt.clock.now())
    unit = units[0] if units else None
    owner_phone = unit.owner_phone if unit else None
    return CallerView(owner_phone, unit.owner_name if unit else None, unit is not None and bool(unit.owner_name),
                      units, open_tickets, recent,
                      Suggestion(project=project_key, unit=code, caller_name=unit.owner_name if unit else None,
                                 phone=owner_phone))


def _units(condition: ColumnElement[bool], allowed: set[str] | None, *, phone: str | None) -> list[CallerUnit]:
    query = (select(Unit, Project.name).join(Project, Project.key == Unit.project_key).where(condition)
             .order_by(Unit.project_key, Unit.code).limit(UNITS_LIMIT))
    if allowed is not None:
        query = query.where(Unit.project_key.in_(sorted(allowed)))
    return [CallerUnit(unit.project_key, name, unit.code, unit.owner_name, unit.owner_phone,
                       phone is not None and unit.owner_phone == phone)
            for unit, name in db.session.execute(query)]


def _tickets(condition: ColumnElement[bool], allowed: set[str] | None, *,
             now: datetime) -> tuple[list[Ticket], list[Ticket]]:
    query = (select(Ticket).where(condition, or_(Ticket.closed_at.is_(None),
                                                 Ticket.received_at >= now - timedelta(days=RECENT_DAYS)))
             .order_by(Ticket.received_at.desc()).limit(RECENT_LIMIT * 2))
    if allowed is not None:
        query = query.where(Ticket.project_key.in_(sorted(allowed)))
    found = list(db.session.scalars(query))
    return ([t for t in found if t.closed_at is None][:RECENT_LIMIT],
            [t for t in found if t.closed_at is not None][:RECENT_LIMIT])
