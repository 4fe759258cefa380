"""Who is calling (a hotline system's screen-pop): the caller of a phone number, or the owner of a unit, with their
units and their open and recent tickets (services/work/callers.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from app.services.errors import InvalidRequestError
from app.services.work.callers import CallerView, caller_by_phone, caller_by_unit
from app.web.api.blueprint import acting_user, api
from app.web.api.serializers import iso
from app.web.context import runtime


@api.get("/callers")
def who_is_calling() -> dict[str, Any]:
    phone = request.args.get("phone", "")
    project, unit = request.args.get("project", ""), request.args.get("unit", "")
    if phone:
        return caller_json(caller_by_phone(runtime(), phone, user=acting_user()))
    if project or unit:
        return caller_json(caller_by_unit(runtime(), project, unit, user=acting_user()))
    raise InvalidRequestError("phone, or project and unit, are required", errors={"phone": "required"})


def caller_json(view: CallerView) -> dict[str, Any]:
    """The caller as JSON. The phone is the one asked about (or, for a unit, its owner's, which the new-ticket form
    fills in); the tickets carry no phone."""
    now = runtime().clock.now()
    return {
        "phone": view.phone, "name": view.name, "is_owner": view.is_owner, "known": view.is_known,
        "units": [{"project": u.project_key, "project_name": u.project_name, "code": u.code,
                   "owner_name": u.owner_name, "is_owner": u.is_owner} for u in view.units],
        "open_tickets": [_ticket(t, now) for t in view.open_tickets],
        "recent_tickets": [_ticket(t, now) for t in view.recent_tickets],
        "fill": {"project": view.suggestion.project, "unit": view.suggestion.unit,
                 "caller_name": view.suggestion.caller_name, "phone": view.suggestion.phone},
    }


def _ticket(ticket: Any, now: datetime) -> dict[str, Any]:
    overdue = ticket.closed_at is None and ticket.due_at is not None and ticket.due_at < now
    return {"overdue": overdue, "number": ticket.number, "project": ticket.project_key, "unit": ticket.unit_code,
            "category": ticket.category, "stage": ticket.stage, "caller": ticket.caller,
            "description": ticket.description, "due_at": iso(ticket.due_at), "received_at": iso(ticket.received_at),
            "closed_at": iso(ticket.closed_at)}
