"""Task routes: list, read, claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from flask import request

from app.services.people.access_log import log_task_view
from app.services.work import tasks as task_service
from app.services.work.people_choice import pickers_of
from app.web.api.blueprint import acting_user, api, json_data_body, page_limit
from app.web.api.serializers import instance_state, task_detail, task_summary
from app.web.context import runtime


@api.get("/tasks")
def list_tasks() -> dict[str, Any]:
    page = task_service.list_tasks(user=acting_user(), scope=request.args.get("scope", "mine"),
                                   limit=page_limit(), cursor=request.args.get("cursor") or None)
    return {"items": [task_summary(task) for task in page.items], "next": page.next_cursor}


@api.get("/tasks/<task_id>")
def get_task(task_id: str) -> dict[str, Any]:
    user = acting_user()  # the instructions come in the user's language, like on the task page
    detail = task_service.get_task(runtime(), task_id, user=user, locale=user.locale)
    # Its data holds the phone in full, as on the task page: logged by its ticket (read with the task).
    log_task_view(user, ticket_number=detail.ticket_number, ticket_phone=detail.ticket_phone,
                  project_key=detail.project_key, instance_id=detail.task.instance_id, task_id=detail.task.id,
                  data=detail.data, source="api_task", now=runtime().clock.now())
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
