"""The human-task use cases: list, read, claim, unclaim, assign, complete."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import EngineRunError, TaskNotFoundError, TaskNotReadyError
from app.extensions import db
from app.models import HumanTask, ProcessInstance, User
from app.services.access import may_act_on_task
from app.services.errors import (
    ForbiddenError,
    InstanceNotActiveError,
    InvalidRequestError,
    NotFoundError,
    TaskClaimedError,
    TaskNotOpenError,
)
from app.services.forms import clean_submission, render_instructions
from app.services.instances import InstanceOutcome
from app.services.runtime import Runtime
from app.services.steps import apply_step, commit_or_conflict, mark_error, open_tasks_of, record_event

SCOPES = ("mine", "group", "all")
ACTIVE_STATUSES = ("running", "waiting")


@dataclass(frozen=True)
class TaskPage:
    items: list[HumanTask]
    next_cursor: str | None


@dataclass(frozen=True)
class TaskDetail:
    task: HumanTask
    form: dict[str, Any] | None
    data: dict[str, Any]
    instructions: str | None


def list_tasks(*, user: User, scope: str = "mine", limit: int = 50, cursor: str | None = None) -> TaskPage:
    """Open tasks: ``mine`` (claimed by or assigned to me), ``group`` (unclaimed, my roles), ``all`` (admins)."""
    if scope not in SCOPES:
        raise InvalidRequestError(f"scope must be one of {', '.join(SCOPES)}", errors={"scope": "invalid"})
    if scope == "all" and not user.is_admin:
        raise ForbiddenError("只有管理员可以查看全部任务 / only admins may list all tasks")
    query = select(HumanTask).where(HumanTask.state == "open", _scope_filter(scope, user))
    if cursor:
        created_at, task_id = _decode_cursor(cursor)
        query = query.where(or_(HumanTask.created_at > created_at,
                                and_(HumanTask.created_at == created_at, HumanTask.id > task_id)))
    rows = list(db.session.scalars(query.order_by(HumanTask.created_at, HumanTask.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return TaskPage(rows, _encode_cursor(rows[-1]) if more else None)


def _scope_filter(scope: str, user: User) -> Any:
    if scope == "mine":
        return or_(HumanTask.claimed_by_id == user.id, HumanTask.assignee == user.username)
    if scope == "group":
        department_ok = or_(HumanTask.department.is_(None), HumanTask.department.in_(user.department_keys))
        return and_(HumanTask.claimed_by_id.is_(None), HumanTask.assignee.is_(None),
                    HumanTask.role.in_(user.role_keys), department_ok)
    return True


def _encode_cursor(task: HumanTask) -> str:
    return base64.urlsafe_b64encode(f"{task.created_at.isoformat()}|{task.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, task_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("cursor time without offset")
        return moment.astimezone(UTC), task_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequestError("invalid cursor", errors={"cursor": "invalid"}) from exc


def get_task(rt: Runtime, task_id: str, *, user: User) -> TaskDetail:
    task = _visible_task(task_id, user)
    facts = rt.bundles.get(task.instance.spec_key)
    form = facts.forms.get(task.form_key) if task.form_key else None
    try:
        data, instructions = rt.engine.task_details(task.instance.state, task.id)
    except TaskNotFoundError:
        data, instructions = {}, None
    return TaskDetail(task, form, data, render_instructions(instructions, data))


def claim_task(rt: Runtime, task_id: str, *, user: User) -> InstanceOutcome:
    """Take an open task for oneself; raise 404/403/409 errors. Claiming twice is harmless."""
    task = _visible_task(task_id, user)
    _require_open(task)
    if task.claimed_by_id not in (None, user.id):
        raise TaskClaimedError("任务已被他人认领 / the task is claimed by someone else")
    if task.claimed_by_id is None:
        _set_claim(task, expected=None, new=user.id)
        record_event(task.instance, "claim", at=rt.clock.now(), actor=user, task_id=task.id)
        commit_or_conflict()
    return InstanceOutcome(task.instance, open_tasks_of(task.instance_id))


def unclaim_task(rt: Runtime, task_id: str, *, user: User) -> InstanceOutcome:
    """Give a claimed task back to its role; only the claimer or an admin may."""
    task = _visible_task(task_id, user)
    _require_open(task)
    if task.claimed_by_id is not None:
        if task.claimed_by_id != user.id and not user.is_admin:
            raise TaskClaimedError("任务已被他人认领 / the task is claimed by someone else")
        _set_claim(task, expected=task.claimed_by_id, new=None)
        record_event(task.instance, "unclaim", at=rt.clock.now(), actor=user, task_id=task.id)
        commit_or_conflict()
    return InstanceOutcome(task.instance, open_tasks_of(task.instance_id))


def assign_task(rt: Runtime, task_id: str, assignee: User, *, user: User) -> InstanceOutcome:
    """A supervisor or admin hands an open task to a person who may act on it."""
    task = _visible_task(task_id, user)
    _require_open(task)
    if not may_act_on_task(assignee, task):
        raise ForbiddenError(f"{assignee.username} 不能处理此任务 / {assignee.username} may not act on this task")
    _set_claim(task, expected=task.claimed_by_id, new=assignee.id)
    record_event(task.instance, "assign", at=rt.clock.now(), actor=user, task_id=task.id,
                 data={"assignee": assignee.username})
    commit_or_conflict()
    return InstanceOutcome(task.instance, open_tasks_of(task.instance_id))


def complete_task(rt: Runtime, task_id: str, data: Any, *, user: User) -> InstanceOutcome:
    """Complete an open task with form data: state, task index and audit in one transaction.

    Checks in order: exists (NotFound), may act (Forbidden), open / not claimed by another /
    instance active (Conflict), data valid (InvalidForm). A run-time engine error puts the
    instance in ``error`` and keeps its previous state.
    """
    task = _visible_task(task_id, user)
    instance = task.instance
    _require_open(task)
    if task.claimed_by_id not in (None, user.id):
        raise TaskClaimedError("任务已被他人认领 / the task is claimed by someone else")
    _require_active(instance)
    facts = rt.bundles.get(instance.spec_key)
    clean = clean_submission(facts.forms.get(task.form_key) if task.form_key else None, data)
    now = rt.clock.now()
    open_tasks = open_tasks_of(instance.id)
    try:
        result = rt.engine.complete(instance.state, task.id, clean)
    except (TaskNotFoundError, TaskNotReadyError) as exc:
        raise TaskNotOpenError("任务已不可办理 / the task is no longer ready") from exc
    except EngineRunError as exc:
        mark_error(instance, exc.details)
        instance.next_timer_at = None
        record_event(instance, "error", at=now, actor=user, task_id=task.id,
                     data={"submitted": clean, "message": exc.details.message})
        commit_or_conflict()
        return InstanceOutcome(instance, open_tasks)
    task.state, task.completed_at, task.completed_by_id = "completed", now, user.id
    still_open = apply_step(instance, result, facts, now=now, open_tasks=[t for t in open_tasks if t.id != task.id])
    record_event(instance, "complete", at=now, actor=user, task_id=task.id, data=clean)
    commit_or_conflict()
    return InstanceOutcome(instance, still_open)


def _visible_task(task_id: str, user: User) -> HumanTask:
    task = db.session.scalars(
        select(HumanTask).options(joinedload(HumanTask.instance)).where(HumanTask.id == task_id)
    ).first()
    if task is None:
        raise NotFoundError(f"任务不存在 / no task {task_id}")
    if not may_act_on_task(user, task):
        raise ForbiddenError("您无权办理此任务 / you may not act on this task")
    return task


def _require_open(task: HumanTask) -> None:
    if task.state != "open":
        raise TaskNotOpenError(f"任务已{ '完成' if task.state == 'completed' else '取消'} / the task is {task.state}")


def _require_active(instance: ProcessInstance) -> None:
    if instance.status not in ACTIVE_STATUSES:
        raise InstanceNotActiveError(f"流程实例状态为 {instance.status}，不能办理 / the instance is {instance.status}")


def _set_claim(task: HumanTask, *, expected: int | None, new: int | None) -> None:
    condition = HumanTask.claimed_by_id.is_(None) if expected is None else HumanTask.claimed_by_id == expected
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]  # an UPDATE yields a cursor
        update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "open", condition)
        .values(claimed_by_id=new).execution_options(synchronize_session=False)
    )
    changed = result.rowcount
    if changed != 1:
        db.session.rollback()
        raise TaskClaimedError("任务刚被他人认领 / someone else just claimed the task")
    set_committed_value(task, "claimed_by_id", new)

