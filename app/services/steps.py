"""Applying an engine step to the database: instance state, task index and audit log together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.engine import RunError, StepResult
from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance, User
from app.services.errors import ConflictError
from app.services.runtime import BundleFacts


def record_event(instance: ProcessInstance, action: str, *, at: datetime, actor: User | None = None,
                 task_id: str | None = None, data: Mapping[str, Any] | None = None) -> None:
    db.session.add(AuditEvent(instance=instance, task_id=task_id, actor_id=actor.id if actor else None,
                              action=action, data=dict(data) if data is not None else None, at=at))


def apply_step(instance: ProcessInstance, result: StepResult, facts: BundleFacts, *, now: datetime,
               open_tasks: list[HumanTask]) -> list[HumanTask]:
    """Move the instance to ``result`` and sync its open tasks; return the tasks open afterwards."""
    instance.state = result.state
    instance.status = result.status
    instance.next_timer_at = result.next_timer_at
    instance.error = None
    if result.status == "completed":
        instance.ended_at = now
    ready = {view.task_id: view for view in result.ready_tasks}
    still_open = []
    for task in open_tasks:
        if task.id in ready:
            still_open.append(task)
        elif task.state == "open":
            task.state = "cancelled"
            task.completed_at = now
    known = {task.id for task in open_tasks}
    for view in result.ready_tasks:
        if view.task_id not in known:
            task = HumanTask(
                id=view.task_id, instance=instance, process_id=view.process_id, element_id=view.name,
                title=view.title, role=facts.lane_roles.get(view.lane or "", view.lane), department=view.department,
                assignee=view.assignee, state="open", form_key=view.form_key, created_at=now, due_at=view.due_at,
            )
            db.session.add(task)
            still_open.append(task)
    return still_open


def mark_error(instance: ProcessInstance, error: RunError) -> None:
    instance.status = "error"
    instance.error = {"message": error.message, "element_id": error.element_id, "line": error.line,
                      "trace": list(error.trace)}


def open_tasks_of(instance_id: int) -> list[HumanTask]:
    return list(db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
        .order_by(HumanTask.created_at, HumanTask.id)
    ))


def commit_or_conflict() -> None:
    """Commit; a lost optimistic-lock race or a busy SQLite becomes a clean 409, never a 500."""
    try:
        db.session.commit()
    except (StaleDataError, OperationalError) as exc:
        db.session.rollback()
        if isinstance(exc, OperationalError) and not _is_lock_error(exc):
            raise
        raise ConflictError("此工单刚被其他人更新，请刷新后重试 / someone else just changed this; reload and "
                            "try again") from exc


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "could not serialize" in text
