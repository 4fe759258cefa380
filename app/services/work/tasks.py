"""The human-task use cases: list, read, claim, unclaim, assign, complete."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update

from app.engine import EngineRunError, TaskNotFoundError, TaskNotReadyError
from app.extensions import db
from app.models import ACTIVE_STATUSES, AuditEvent, HumanTaskState, InstanceStatus, Project, Ticket, User
from app.services.access import Actor, may_act_on_task
from app.services.errors import (
    ForbiddenError,
    InstanceNotActiveError,
    InvalidFormError,
    InvalidRequestError,
    NotFoundError,
    TaskClaimedError,
    TaskNotOpenError,
    msg,
)
from app.services.ops.metrics import observe_step
from app.services.ops.request_context import without_request_id
from app.services.people.organisation import ticket_project_hidden, visible_projects
from app.services.runtime import Runtime
from app.services.steps.plan import (
    TASK_COLUMNS,
    TASKS_WITH_CLAIMER,
    InstanceOutcome,
    TaskSnapshot,
    event_row,
    open_tasks_of,
    plan_error,
    plan_step,
    record_event,
    snapshot_of_row,
    step_transaction,
    task_scope,
)
from app.services.steps.write import INSTANCES, TASK_IS_OPEN, TASKS, write_step
from app.services.work.after_step import CompletedTask, StepDone, run_after_step
from app.services.work.form_rules import FormContext
from app.services.work.forms import clean_submission, render_instructions, with_names
from app.services.work.people_choice import check_people_chosen, people_to_pick
from app.services.work.staffing import (
    NOT_READ,
    TASK_PROJECT,
    Unstaffed,
    in_projects,
    may_act_or_stand_in,
    unstaffed_of,
    unstaffed_reason_column,
    with_projects,
)
from app.services.work.tickets import sync_ticket_after_step

SCOPES = ("mine", "group", "all")


@dataclass(frozen=True)
class TaskPage:
    items: list[TaskSnapshot]
    next_cursor: str | None


@dataclass(frozen=True)
class TaskDetail:
    task: TaskSnapshot
    form: dict[str, Any] | None
    data: dict[str, Any]
    instructions: str | None
    project_key: str | None = None  # the task's project (ticket's, else instance's): who may be picked, who may do it
    unstaffed: Unstaffed | None = None  # why nobody may do it (an open task only)
    ticket_number: str | None = None  # the instance's ticket, if it has one (read with the task)
    ticket_phone: str | None = None
    project_name: str | None = None  # the name of ``project_key``

    @property
    def project_names(self) -> dict[str, str]:
        """The task's project key -> name, read with the task: ``with_names`` need not ask for it again."""
        return _project_names(self.project_key, self.project_name)


@dataclass(frozen=True)
class _InstanceRow:
    id: int
    spec_key: str
    status: str
    state: str
    lock_version: int
    ticket_id: int | None
    project_key: str | None
    next_timer_at: datetime | None
    ticket_number: str | None
    ticket_phone: str | None


@dataclass(frozen=True)
class _Loaded:
    """A task, its instance and every open task of that instance, read in one query."""

    task: TaskSnapshot
    instance: _InstanceRow
    open_tasks: list[TaskSnapshot]
    reason_code: Any = NOT_READ  # the task's ``unstaffed_reason_column`` (None: someone may do it), when read
    project_name: str | None = None  # when read


def list_tasks(*, user: Actor, scope: str = "mine", limit: int = 50, cursor: str | None = None) -> TaskPage:
    """Open tasks: ``mine`` (claimed by or assigned to me), ``group`` (unclaimed, my roles), ``all`` (admins)."""
    if scope not in SCOPES:
        raise InvalidRequestError(f"scope must be one of {', '.join(SCOPES)}", errors={"scope": "invalid"})
    if scope == "all" and not user.is_admin:
        raise ForbiddenError(msg("only admins may list all tasks"))
    query = (select(*TASK_COLUMNS).select_from(with_projects(TASKS_WITH_CLAIMER))
             .where(TASK_IS_OPEN, task_scope(scope, user),
                    in_projects(visible_projects(user))))
    if cursor:
        created_at, task_id = _decode_cursor(cursor)
        query = query.where(or_(TASKS.c.created_at > created_at,
                                and_(TASKS.c.created_at == created_at, TASKS.c.id > task_id)))
    rows = [snapshot_of_row(row) for row in
            db.session.connection().execute(query.order_by(TASKS.c.created_at, TASKS.c.id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return TaskPage(rows, _encode_cursor(rows[-1]) if more else None)


def _encode_cursor(task: TaskSnapshot) -> str:
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


def get_task(rt: Runtime, task_id: str, *, user: Actor, locale: str = "zh") -> TaskDetail:
    """A task with its form, data and instructions (in ``locale``, times in the business time zone)."""
    loaded = _load(task_id, user, shown=True)
    task, instance = loaded.task, loaded.instance
    facts = rt.bundles.get(instance.spec_key)
    form = facts.forms.get(task.form_key) if task.form_key else None
    try:
        data, instructions = rt.engine.task_details(instance.state, task.id)
    except TaskNotFoundError:  # a finished round of a loop the engine no longer keeps: show what was submitted
        data, instructions = _submitted(instance.id, task.id), None
    unstaffed = unstaffed_of(task, loaded.reason_code, instance.project_key)  # None unless the task is open
    names = _project_names(instance.project_key, loaded.project_name)
    shown = render_instructions(instructions, with_names(data, known_projects=names), locale=locale,
                                timezone=rt.timezone, forms=facts.forms) if instructions else None
    return TaskDetail(task, form, data, shown, instance.project_key, unstaffed,
                      instance.ticket_number, instance.ticket_phone, loaded.project_name)


def task_form(rt: Runtime, task_id: str, *, user: Actor) -> dict[str, Any] | None:
    """The form of a task the user may see (what a submission is parsed with), nothing else read."""
    loaded = _load(task_id, user)
    facts = rt.bundles.get(loaded.instance.spec_key)
    return facts.forms.get(loaded.task.form_key) if loaded.task.form_key else None


def _project_names(key: str | None, name: str | None) -> dict[str, str]:
    return {key: name} if key is not None and name is not None else {}


def _submitted(instance_id: int, task_id: str) -> dict[str, Any]:
    """What the task was completed with, from the audit log ({} when it was never completed)."""
    data = db.session.scalar(select(AuditEvent.data).where(
        AuditEvent.instance_id == instance_id, AuditEvent.task_id == task_id, AuditEvent.action == "complete",
    ).order_by(AuditEvent.id.desc()).limit(1))
    return dict(without_request_id(data) or {})


def claim_task(rt: Runtime, task_id: str, *, user: Actor) -> InstanceOutcome:
    """Take an open task for oneself; raise 404/403/409 errors. Claiming twice is harmless."""
    loaded = _load(task_id, user)
    _require_open(loaded.task)
    if loaded.task.claimed_by_id not in (None, user.id):
        raise TaskClaimedError(msg("the task is claimed by someone else"))
    if loaded.task.claimed_by_id is None:
        with step_transaction():
            _set_claim(loaded.task, expected=None, new=user.id)
            record_event(loaded.instance.id, "claim", at=rt.clock.now(), actor_id=user.id, task_id=task_id)
    return _outcome_after_claim(loaded)


def unclaim_task(rt: Runtime, task_id: str, *, user: Actor) -> InstanceOutcome:
    """Give a claimed task back to its role; only the claimer or an admin may."""
    loaded = _load(task_id, user)
    _require_open(loaded.task)
    if loaded.task.claimed_by_id is not None:
        if loaded.task.claimed_by_id != user.id and not user.is_admin:
            raise TaskClaimedError(msg("the task is claimed by someone else"))
        with step_transaction():
            _set_claim(loaded.task, expected=loaded.task.claimed_by_id, new=None)
            record_event(loaded.instance.id, "unclaim", at=rt.clock.now(), actor_id=user.id, task_id=task_id)
    return _outcome_after_claim(loaded)


def assign_task(rt: Runtime, task_id: str, assignee: Actor, *, user: Actor) -> InstanceOutcome:
    """A supervisor or admin hands an open task to a person who may act on it."""
    loaded = _load(task_id, user)
    _require_open(loaded.task)
    if not may_act_on_task(assignee, loaded.task) or ticket_project_hidden(loaded.instance.project_key, assignee):
        raise ForbiddenError(msg("%(username)s may not act on this task", username=assignee.username))
    with step_transaction():
        _set_claim(loaded.task, expected=loaded.task.claimed_by_id, new=assignee.id)
        record_event(loaded.instance.id, "assign", at=rt.clock.now(), actor_id=user.id, task_id=task_id,
                     data={"assignee": assignee.username})
    return _outcome_after_claim(loaded)


def hand_over_task(rt: Runtime, task_id: str, username: str, *, user: Actor) -> InstanceOutcome:
    """The supervisor standing in for a task nobody may do names who does it: a holder of its role, any department.

    :raise ForbiddenError: the user is not standing in (someone may do the task) and is not an admin.
    :raise InvalidFormError: ``username`` is not an active holder of the task's role who may see the ticket.
    """
    loaded = _load(task_id, user, shown=True)
    _require_open(loaded.task)
    task = loaded.task
    unstaffed = unstaffed_of(task, loaded.reason_code, loaded.instance.project_key)
    if unstaffed is None and not user.is_admin:
        raise ForbiddenError(msg("someone may do this task; it needs no hand-over"))
    offered = people_to_pick(task.role or "", department=None, project_key=loaded.instance.project_key)
    person = db.session.scalar(select(User.id).where(User.username == username, User.is_active.is_(True)))
    if person is None or username not in offered.usernames:
        raise InvalidFormError(msg("choose one of the people offered"),
                               errors={"username": msg("%(username)s may not do this task", username=username or "—")})
    with step_transaction():
        db.session.connection().execute(update(TASKS).where(TASKS.c.id == task.id, TASK_IS_OPEN)
                                        .values(assignee=username, claimed_by_id=person))
        record_event(loaded.instance.id, "assign", at=rt.clock.now(), actor_id=user.id, task_id=task_id,
                     data={"assignee": username, "from": task.assignee or task.role,
                           "reason": str(unstaffed.reason()) if unstaffed else None})  # English, in the log
    return _outcome_after_claim(loaded)


def _outcome_after_claim(loaded: _Loaded) -> InstanceOutcome:
    return InstanceOutcome(loaded.instance.id, loaded.instance.status, open_tasks_of(loaded.instance.id))


def complete_task(rt: Runtime, task_id: str, data: Any, *, user: Actor) -> InstanceOutcome:
    """Complete an open task with form data: state, task index and audit in one transaction.

    Checks in order: exists (NotFound), may act (Forbidden), open / not claimed by another /
    instance active (Conflict), data valid (InvalidForm). A run-time engine error puts the
    instance in ``error`` and keeps its previous state.
    """
    started = perf_counter()
    loaded = _load(task_id, user)
    task, instance = loaded.task, loaded.instance
    _require_open(task)
    if task.claimed_by_id not in (None, user.id):
        raise TaskClaimedError(msg("the task is claimed by someone else"))
    _require_active(instance)
    facts = rt.bundles.get(instance.spec_key)
    form = facts.forms.get(task.form_key) if task.form_key else None
    context = FormContext(now=rt.clock.now(), timezone=rt.timezone, calendar=rt.calendar,
                          task_data=lambda: rt.engine.task_details(instance.state, task.id)[0])
    clean = clean_submission(form, data, context=context)
    check_people_chosen(form, clean, department=task.department, project_key=instance.project_key)
    now = rt.clock.now()
    try:
        result = rt.engine.complete(instance.state, task.id, clean)
    except (TaskNotFoundError, TaskNotReadyError) as exc:
        raise TaskNotOpenError(msg("the task is no longer ready")) from exc
    except EngineRunError as exc:
        failed = plan_error(instance_id=instance.id, lock_version=instance.lock_version, error=exc.details, now=now)
        failed.events.append(event_row(instance.id, "error", at=now, actor_id=user.id, task_id=task.id,
                                       data={"submitted": clean, "message": exc.details.message}))
        with step_transaction():
            write_step(failed)
        return InstanceOutcome(instance.id, InstanceStatus.ERROR, loaded.open_tasks)
    step, still_open = plan_step(instance_id=instance.id, lock_version=instance.lock_version, result=result,
                                 facts=facts, now=now, open_tasks=[t for t in loaded.open_tasks if t.id != task.id],
                                 previous_timer_at=instance.next_timer_at, previous_status=instance.status)
    step.completed_task_id, step.completed_by_id = task.id, user.id
    step.events.append(event_row(instance.id, "complete", at=now, actor_id=user.id, task_id=task.id, data=clean))
    with step_transaction():
        write_step(step)
        if instance.ticket_id is not None:  # a ticket's instance, whatever its process
            sync_ticket_after_step(rt, instance.ticket_id, result, user=user)
        run_after_step(rt, StepDone(instance.id, facts.process_id, result, "task", actor=user,
                                    task=CompletedTask(task, clean, user)))
    observe_step(facts.process_id, task.element_id, perf_counter() - started)
    return InstanceOutcome(instance.id, result.status, still_open)


_TICKETS = Ticket.__table__
_PROJECTS = Project.__table__
_INSTANCE_COLUMNS = (INSTANCES.c.id, INSTANCES.c.spec_key, INSTANCES.c.status, INSTANCES.c.state,
                     INSTANCES.c.lock_version, _TICKETS.c.id.label("ticket_id"),
                     TASK_PROJECT.label("project_key"),  # the ticket's, else the instance's
                     INSTANCES.c.next_timer_at, _TICKETS.c.number.label("ticket_number"),
                     _TICKETS.c.phone.label("ticket_phone"))
_LOAD = (
    select(*TASK_COLUMNS, *_INSTANCE_COLUMNS)
    .select_from(TASKS_WITH_CLAIMER.join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
                 .outerjoin(_TICKETS, _TICKETS.c.instance_id == INSTANCES.c.id))
    .where(TASKS.c.instance_id == select(TASKS.c.instance_id).where(TASKS.c.id == bindparam("task_id"))
           .scalar_subquery(),
           or_(TASK_IS_OPEN, TASKS.c.id == bindparam("task_id")))
    .order_by(TASKS.c.created_at, TASKS.c.id)
)
_IS_TARGET = TASKS.c.id == bindparam("task_id")
# What showing a task needs as well, in the same query: whether anyone may do it (the open task only: the
# database runs the staffing subqueries for that row alone) and its project's name.
_LOAD_SHOWN = _LOAD.add_columns(
    case((and_(_IS_TARGET, TASK_IS_OPEN), unstaffed_reason_column())).label("unstaffed_reason"),
    case((_IS_TARGET, select(_PROJECTS.c.name).where(_PROJECTS.c.key == TASK_PROJECT).scalar_subquery()))
    .label("project_name"),
)
_INSTANCE_END = len(TASK_COLUMNS) + len(_INSTANCE_COLUMNS)


def _load(task_id: str, user: Actor, *, shown: bool = False) -> _Loaded:
    """The task with its instance and the instance's open tasks (one query); 404 / 403 checks.

    ``shown``: read why nobody may do it and its project's name as well (``_LOAD_SHOWN``).
    """
    rows = db.session.connection().execute(_LOAD_SHOWN if shown else _LOAD, {"task_id": task_id}).all()
    target = next((row for row in rows if row.id == task_id), None)
    if target is None:
        raise NotFoundError(msg("no task %(task_id)s", task_id=task_id))
    task = snapshot_of_row(target)
    instance = _InstanceRow(*target[len(TASK_COLUMNS):_INSTANCE_END])
    reason_code, project_name = (target.unstaffed_reason, target.project_name) if shown else (NOT_READ, None)
    if ticket_project_hidden(instance.project_key, user):
        raise NotFoundError(msg("no task %(task_id)s", task_id=task_id))
    if not may_act_or_stand_in(user, task, instance.project_key,
                               reason_code=reason_code if task.state == HumanTaskState.OPEN else NOT_READ):
        raise ForbiddenError(msg("you may not act on this task"))
    return _Loaded(task, instance, [snapshot_of_row(row) for row in rows if row.state == HumanTaskState.OPEN],
                   reason_code, project_name)


def _require_open(task: TaskSnapshot) -> None:
    if task.state != HumanTaskState.OPEN:
        raise TaskNotOpenError(msg("the task is completed") if task.state == "completed"
                               else msg("the task is cancelled"))


def _require_active(instance: _InstanceRow) -> None:
    if instance.status not in ACTIVE_STATUSES:
        raise InstanceNotActiveError(msg("the instance is %(status)s: it cannot be worked on", status=instance.status))


def _set_claim(task: TaskSnapshot, *, expected: int | None, new: int | None) -> None:
    condition = TASKS.c.claimed_by_id.is_(None) if expected is None else TASKS.c.claimed_by_id == expected
    result = db.session.connection().execute(
        update(TASKS).where(TASKS.c.id == task.id, TASK_IS_OPEN, condition)
        .values(claimed_by_id=new))
    if result.rowcount != 1:
        raise TaskClaimedError(msg("someone else just claimed the task"))
