"""Process and instance routes."""

from __future__ import annotations

from typing import Any

from app.services.work import instances as instance_service
from app.services.work import tickets as ticket_service
from app.web.api.blueprint import acting_user, api, json_data_body
from app.web.api.serializers import instance_detail, instance_state, process_item
from app.web.api.tickets import shown_ticket
from app.web.context import runtime


@api.get("/processes")
def list_processes() -> dict[str, Any]:
    startable = instance_service.startable_processes(runtime(), user=acting_user())
    return {"items": [process_item(process) for process in startable], "next": None}


@api.post("/processes/<process_id>/instances")
def start_instance(process_id: str) -> tuple[dict[str, Any], int]:
    data = json_data_body(required=False)
    outcome, number = ticket_service.start_process(runtime(), process_id, data, user=acting_user())
    if number is None:
        return instance_state(outcome), 201
    ticket = ticket_service.ticket_by_number(number, user=acting_user())
    return {**instance_state(outcome), "ticket": shown_ticket(ticket, source="api_ticket")}, 201


@api.get("/instances/<int(min=1, max=2147483647):instance_id>")
def get_instance(instance_id: int) -> dict[str, Any]:
    return instance_detail(instance_service.instance_detail(runtime(), instance_id, user=acting_user()))
