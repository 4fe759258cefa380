"""Ticket routes: open a ticket, read it by number, find duplicates, attach a repeated call."""

from __future__ import annotations

from flask import request

from app.services.errors import InvalidRequestError
from app.services.people.access_log import log_phone_view
from app.services.work import tickets as ticket_service
from app.web.api.blueprint import acting_user, api, json_data_body, runtime
from app.web.api.serializers import instance_state, ticket_summary


@api.post("/tickets")
def open_ticket() -> tuple[dict, int]:
    data = json_data_body(required=True)
    opened = ticket_service.open_ticket(runtime(), data, user=acting_user())
    ticket = ticket_service.ticket_by_number(opened.number, user=acting_user())
    return {"ticket": ticket_summary(ticket), "instance": instance_state(opened.instance)}, 201


@api.get("/tickets/duplicates")
def find_duplicates() -> dict:
    args = {name: request.args.get(name, "") for name in ("project", "unit", "category")}
    missing = {name: "required" for name, value in args.items() if not value}
    if missing:
        raise InvalidRequestError("project, unit and category are required", errors=missing)
    found = ticket_service.find_duplicates(project_key=args["project"], unit_code=args["unit"],
                                           category=args["category"], user=acting_user(),
                                           now=runtime().clock.now())
    return {"items": [ticket_summary(ticket) for ticket in found], "next": None}


@api.get("/tickets/<number>")
def get_ticket(number: str) -> dict:
    ticket = ticket_service.ticket_by_number(number, user=acting_user())
    if ticket.phone:  # the full number goes out: logged, as on the console's ticket page (PIPL)
        log_phone_view(acting_user(), ticket.number, source="api_ticket", now=runtime().clock.now())
    return ticket_summary(ticket)


@api.post("/tickets/<number>/calls")
def attach_call(number: str) -> dict:
    data = json_data_body(required=True)
    if not isinstance(data, dict):
        raise InvalidRequestError("data must be an object", errors={"data": "must be an object"})
    return ticket_summary(ticket_service.attach_call(runtime(), number, data, user=acting_user()))
