"""Task routes: list, read, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from flask import request

from app.services.errors import InvalidRequestError
from app.services.work import tasks as task_service
from app.services.work.people_choice import pickers_of
from app.web.api.blueprint import acting_user, api, json_data_body
from app.web.api.serializers import instance_state, task_detail, task_summary
from app.web.context import runtime


@api.get("/tasks")
def list_tasks() -> dict[str, Any]:
    page = task_service.list_tasks(user=acting_user(), scope=request.args.get("scope", "mine"),
                                   limit=_limit(), cursor=request.args.get("cursor") or None)
    return {"items": [task_summary(task) for task in page.items], "next": page.next_cursor}


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise InvalidRequestError("limit must be 1 to 200", errors={"limit": "must be an integer from 1 to 200"})
    return int(raw)


@api.get("/tasks/<task_id>")
def get_task(task_id: str) -> dict[str, Any]:
    user = acting_user()  # the instructions come in the user's language, like on the task page
    detail = task_service.get_task(runtime(), task_id, user=user, locale=user.locale)
    pickers = pickers_of(detail.form, department=detail.task.department, project_key=detail.project_key)
    return task_detail(detail, pickers=pickers, locale=user.locale)


@api.post("/tasks/<task_id>/claim")
def claim_task(task_id: str) -> dict[str, Any]:
    return instance_state(task_service.claim_task(runtime(), task_id, user=acting_user()))


@api.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str) -> dict[str, Any]:
    return instance_state(task_service.unclaim_task(runtime(), task_id, user=acting_user()))


@api.post("/tasks/<task_id>/complete")
def complete_task(task_id: str) -> dict[str, Any]:
    data = json_data_body(required=True)
    return instance_state(task_service.complete_task(runtime(), task_id, data, user=acting_user()))
