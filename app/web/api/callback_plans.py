"""Planned callbacks (定期回访), as the console's /callbacks page: the plans filtered, the plan of the next days,
a period planned for a customer type and a project or building, a plan not yet started cancelled. The calls
themselves are tasks (``/tasks``) of the ``planned_callback`` flow."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import request

from app.services.errors import InvalidRequestError, msg
from app.services.outreach import callback_plans, callback_schedule
from app.services.outreach.callback_schedule import PlanRow
from app.web.api.blueprint import (
    acting_user,
    api,
    json_data_body,
    next_cursor,
    page_limit,
    page_start,
    query_day,
    text_field,
)
from app.web.api.serializers import iso
from app.web.context import runtime


def plan_json(row: PlanRow) -> dict[str, Any]:
    plan, numbers = row.plan, row.ticket_numbers
    return {
        "id": plan.id, "customer_type": plan.customer_type, "project": plan.project_key, "unit": plan.unit_code,
        "owner_name": plan.owner_name, "due_on": plan.due_on.isoformat(), "status": plan.status,
        "source_ticket": numbers.get(plan.source_ticket_id) if plan.source_ticket_id else None,
        "department": plan.department, "technician": plan.technician, "instance_id": plan.instance_id,
        "created_at": iso(plan.created_at), "started_at": iso(plan.started_at),
        "calls": [{"method": call.method, "reached": call.reached, "satisfaction": call.satisfaction,
                   "issue": call.issue, "remarks": call.remarks,
                   "ticket": numbers.get(call.ticket_id) if call.ticket_id else None, "done_at": iso(call.done_at)}
                  for call in row.calls],
    }


@api.get("/callback-plans")
def list_callback_plans() -> dict[str, Any]:
    """Filters: status, project, customer_type, method (of a call made), due_from and due_to (dates)."""
    args = request.args
    narrowed = callback_schedule.PlanFilter(
        status=_one_of("status", callback_schedule.STATUSES),
        project_key=args.get("project") or None,
        customer_type=_one_of("customer_type", callback_plans.CUSTOMER_TYPES),
        method=args.get("method") or None, due_from=query_day("due_from"), due_to=query_day("due_to"))
    limit, start = page_limit(), page_start()
    rows = callback_schedule.find_plans(narrowed, user=acting_user(), limit=limit + 1, offset=start)
    return {"items": [plan_json(row) for row in rows[:limit]],
            "next": next_cursor(len(rows), limit=limit, start=start)}


def _one_of(name: str, known: tuple[str, ...]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in known:
        raise InvalidRequestError(msg("check the query"),
                                  errors={name: msg("one of %(values)s", values=", ".join(known))})
    return value


@api.get("/callback-plans/schedule")
def callback_schedule_ahead() -> dict[str, Any]:
    """The plans still to start in the next ``days`` days (default 30), day by day."""
    raw = request.args.get("days", "30")
    if not raw.isdigit() or not 1 <= int(raw) <= callback_schedule.MAX_SCHEDULE_DAYS:
        raise InvalidRequestError(msg("check the query"), errors={"days": msg(
            "a number of days from 1 to %(days)s", days=callback_schedule.MAX_SCHEDULE_DAYS)})
    rt = runtime()
    today = rt.clock.now().astimezone(ZoneInfo(rt.timezone)).date()
    planned = callback_schedule.schedule(today, int(raw), user=acting_user(),
                                         project_key=request.args.get("project") or None)
    return {"first_day": planned.first_day.isoformat(), "last_day": planned.last_day.isoformat(),
            "days": [{"day": day.day.isoformat(), "plans": day.plans, "by_customer_type": day.by_customer_type}
                     for day in planned.days],
            "items": [plan_json(row) for row in planned.rows]}


@api.post("/callback-plans")
def plan_callbacks() -> tuple[dict[str, Any], int]:
    """A period planned: every owner with a phone of the project (or building), spread over its working days."""
    data = json_data_body(required=True)
    if not isinstance(data, dict):
        raise InvalidRequestError(msg("check the plan"), errors={"data": msg("must be a JSON object")})
    user = acting_user()
    callback_schedule.require_planner(user)
    asked = callback_plans.PlanRequest(
        customer_type=text_field(data, "customer_type"), project_key=text_field(data, "project"),
        building=text_field(data, "building").strip() or None, first_day=text_field(data, "first_day"),
        last_day=text_field(data, "last_day"))
    rt = runtime()
    planned, skipped = callback_plans.plan_period(asked, user=user, now=rt.clock.now(), timezone=rt.timezone,
                                                  calendar=rt.calendar())
    return {"planned": planned, "already_planned": skipped}, 201


@api.get("/callback-plans/<int:plan_id>")
def get_callback_plan(plan_id: int) -> dict[str, Any]:
    return plan_json(callback_schedule.plan_row(plan_id, user=acting_user()))


@api.post("/callback-plans/<int:plan_id>/cancel")
def cancel_callback_plan(plan_id: int) -> dict[str, Any]:
    """A plan not started yet is cancelled; a started or done one stays as it is (its status says which)."""
    user = acting_user()
    callback_schedule.plan_row(plan_id, user=user)  # the role, and another project's plan is not found
    callback_plans.cancel_plan(plan_id, user=user)
    return plan_json(callback_schedule.plan_row(plan_id, user=user))
