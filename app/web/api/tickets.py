"""Ticket routes: open a ticket, search, read it by number, find duplicates, attach a repeated call."""

from __future__ import annotations

from typing import Any

from flask import request

from app.services.errors import InvalidRequestError
from app.services.people.access_log import log_phone_view
from app.services.work import ticket_search, wait_actions
from app.services.work import tickets as ticket_service
from app.services.work.inbox import may_see_phone
from app.web.api.blueprint import acting_user, api, json_data_body, page_limit
from app.web.api.serializers import instance_state, ticket_summary
from app.web.context import runtime
from app.web.waiting import waiting_json


def shown_ticket(ticket: Any, *, source: str) -> dict[str, Any]:
    """A ticket as the acting user may see it: its phone masked as on the console's ticket page, unless they
    may see it in full, which is then logged (PIPL)."""
    full = may_see_phone(acting_user(), ticket.instance_id)
    if full and ticket.phone:
        log_phone_view(acting_user(), ticket.number, source=source, now=runtime().clock.now())
    return ticket_summary(ticket, full_phone=full) | waiting_json(ticket)


@api.post("/tickets")
def open_ticket() -> tuple[dict[str, Any], int]:
    data = json_data_body(required=True)
    # The recorder sees the phone in full; its access-log line commits with the ticket (one transaction).
    opened = ticket_service.open_ticket(runtime(), data, user=acting_user(), phone_view_source="api_ticket")
    # The ticket as its start left it (its row, not read again).
    shown = ticket_summary(opened.ticket, full_phone=opened.phone_in_full) | waiting_json(opened.ticket)
    return {"ticket": shown, "instance": instance_state(opened.instance)}, 201


@api.get("/tickets")
def search_tickets() -> dict[str, Any]:
    """The user's projects' tickets matching ``q``, best first (services/work/ticket_search.py)."""
    query = request.args.get("q", "")
    if not query.strip():
        raise InvalidRequestError("q is required", errors={"q": "required"})
    page = ticket_search.search_tickets(query, user=acting_user(), limit=page_limit(),
                                        offset=ticket_search.parse_offset(request.args.get("cursor")))
    full = ticket_search.phones_in_full(page.items, user=acting_user(), source="api_search", now=runtime().clock.now())
    items = [ticket_summary(found.ticket, full_phone=found.ticket.id in full) | {"project_name": found.project_name}
             for found in page.items]
    return {"items": items, "next": str(page.next_offset) if page.next_offset is not None else None}


@api.get("/tickets/duplicates")
def find_duplicates() -> dict[str, Any]:
    args = {name: request.args.get(name, "") for name in ("project", "unit", "category")}
    missing = {name: "required" for name, value in args.items() if not value}
    if missing:
        raise InvalidRequestError("project, unit and category are required", errors=missing)
    found = ticket_service.find_duplicates(project_key=args["project"], unit_code=args["unit"],
                                           category=args["category"], user=acting_user(),
                                           now=runtime().clock.now())
    return {"items": [shown_ticket(ticket, source="api_ticket") for ticket in found], "next": None}


@api.get("/tickets/<number>")
def get_ticket(number: str) -> dict[str, Any]:
    return shown_ticket(ticket_service.ticket_by_number(number, user=acting_user()), source="api_ticket")


@api.post("/tickets/<number>/calls")
def attach_call(number: str) -> dict[str, Any]:
    data = json_data_body(required=True)
    return shown_ticket(ticket_service.attach_call(runtime(), number, data, user=acting_user()), source="api_ticket")


def _act_on_wait(number: str, action: str) -> dict[str, Any]:
    data = json_data_body(required=True)
    reason = data.get("reason") if isinstance(data, dict) else None
    ticket = wait_actions.act_on_wait(runtime(), number, action, reason if isinstance(reason, str) else None,
                                      user=acting_user())
    return shown_ticket(ticket, source="api_ticket")


@api.post("/tickets/<number>/dispatch-now")
def dispatch_now(number: str) -> dict[str, Any]:
    """The CS supervisor skips a night hold: the call is handed to the day desk at once."""
    return _act_on_wait(number, "dispatch_now")


@api.post("/tickets/<number>/call-back-now")
def call_back_now(number: str) -> dict[str, Any]:
    """The CS supervisor has the callback made now instead of after the retry interval."""
    return _act_on_wait(number, "call_back_now")


@api.post("/tickets/<number>/end-pause")
def end_pause(number: str) -> dict[str, Any]:
    """The CS supervisor ends a pause: the work resumes, the deadline moves by the time paused."""
    return _act_on_wait(number, "end_pause")
