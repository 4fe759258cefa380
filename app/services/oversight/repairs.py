"""An admin repairs instances: suspend, resume, terminate, reassign, edit task data, retry, migrate.

Each repair needs a reason and writes, in one transaction, the instance (its lock version checked,
so a step that ran meanwhile makes the repair a 409), the task index, an audit event carrying the
reason, and the instance's timer job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import select, update

from app.engine import (
    EngineRunError,
    MigrationRefusedError,
    StepResult,
    TaskNotFoundError,
    TaskNotReadyError,
    migrate,
    migration_problems,
    set_task_data,
)
from app.extensions import db
from app.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    UNFINISHED_STATUSES,
    Bundle,
    HumanTask,
    HumanTaskState,
    InstanceStatus,
    ProcessInstance,
    Role,
    Ticket,
    TicketStage,
    User,
)
from app.services.access import Actor
from app.services.errors import ConflictError, ForbiddenError, InvalidRequestError, Message, NotFoundError, Text, msg
from app.services.jobs.queue import reschedule_timer_job, retry_instance
from app.services.runtime import Runtime
from app.services.steps.plan import InstanceOutcome, open_tasks_of, plan_step, record_event, step_transaction
from app.services.steps.write import CONFLICT_MESSAGE, TASK_IS_OPEN, write_step
from app.services.work.tickets import sync_ticket_after_step

PI, HT, T = ProcessInstance.__table__, HumanTask.__table__, Ticket.__table__
MAX_REASON = 500


@dataclass(frozen=True)
class _Instance:
    id: int
    status: str
    state: str
    lock_version: int
    spec_key: str
    bundle_id: int
    process_id: str


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise ForbiddenError(msg("only administrators repair instances"))


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidRequestError(msg("a reason is required"), errors={"reason": "required"})
    if len(text) > MAX_REASON or "\x00" in text:
        raise InvalidRequestError(msg("the reason is too long or invalid"),
                                  errors={"reason": "invalid"})
    return text


def _load(instance_id: int) -> _Instance:
    row = db.session.execute(select(PI.c.id, PI.c.status, PI.c.state, PI.c.lock_version, PI.c.spec_key,
                                    PI.c.bundle_id, PI.c.process_id).where(PI.c.id == instance_id)).first()
    if row is None:
        raise NotFoundError(msg("no instance %(instance_id)s", instance_id=instance_id))
    return _Instance(*row)


def _move(instance: _Instance, **values: Any) -> None:
    """Update the instance if nobody moved it since it was read; raise ConflictError otherwise."""
    moved = db.session.connection().execute(
        update(PI).where(PI.c.id == instance.id, PI.c.lock_version == instance.lock_version)
        .values(lock_version=instance.lock_version + 1, **values)).rowcount
    if moved != 1:
        raise ConflictError(CONFLICT_MESSAGE)


def _refuse(instance: _Instance, allowed: tuple[str, ...], what: Text) -> None:
    if instance.status not in allowed:
        raise ConflictError(msg("the instance is %(status)s: cannot %(action)s", status=instance.status, action=what))


def role_keys() -> list[str]:
    """Every role a task can be given to."""
    return list(db.session.scalars(select(Role.key).order_by(Role.key)))


# --- status -----------------------------------------------------------------------------------------------------

def suspend(rt: Runtime, instance_id: int, *, actor: Actor, reason: str) -> str:
    """Stop an active instance: its tasks cannot be completed and its timers do not fire until resumed."""
    _require_admin(actor)
    reason = _clean_reason(reason)
    instance = _load(instance_id)
    _refuse(instance, ACTIVE_STATUSES, msg("suspend"))
    now = rt.clock.now()
    with step_transaction():
        _move(instance, status=InstanceStatus.SUSPENDED)
        record_event(instance.id, "suspended", at=now, actor_id=actor.id,
                     data={"reason": reason, "was": instance.status})
        reschedule_timer_job(instance.id, now=now)
    return InstanceStatus.SUSPENDED


def resume(rt: Runtime, instance_id: int, *, actor: Actor, reason: str) -> str:
    """Let a suspended instance go on where it stood; timers that fell due meanwhile fire on the next run."""
    _require_admin(actor)
    reason = _clean_reason(reason)
    instance = _load(instance_id)
    _refuse(instance, (InstanceStatus.SUSPENDED,), msg("resume"))
    status = rt.engine.inspect(instance.state).status
    now = rt.clock.now()
    with step_transaction():
        _move(instance, status=status)
        record_event(instance.id, "resumed", at=now, actor_id=actor.id, data={"reason": reason})
        reschedule_timer_job(instance.id, now=now)
    return status


def terminate(rt: Runtime, instance_id: int, *, actor: Actor, reason: str) -> str:
    """End an unfinished instance for good: open tasks cancelled, its ticket closed as cancelled."""
    _require_admin(actor)
    reason = _clean_reason(reason)
    instance = _load(instance_id)
    _refuse(instance, UNFINISHED_STATUSES, msg("terminate"))
    now = rt.clock.now()
    with step_transaction():
        _move(instance, status=InstanceStatus.TERMINATED, ended_at=now, next_timer_at=None)
        db.session.execute(update(HT).where(HT.c.instance_id == instance.id, TASK_IS_OPEN)
                           .values(state=HumanTaskState.CANCELLED, completed_at=now))
        db.session.execute(update(T).where(T.c.instance_id == instance.id, T.c.closed_at.is_(None))
                           .values(closed_at=now, stage=TicketStage.CLOSED, outcome="cancelled"))
        record_event(instance.id, "terminated", at=now, actor_id=actor.id, data={"reason": reason})
        reschedule_timer_job(instance.id, now=now)
    return InstanceStatus.TERMINATED


def retry(rt: Runtime, instance_id: int, *, actor: Actor, reason: str) -> InstanceOutcome:
    """Run an instance in ``error`` again (after a fix: new version migrated, data edited, system back)."""
    _require_admin(actor)
    return retry_instance(rt, instance_id, actor=actor, reason=_clean_reason(reason))


# --- tasks ------------------------------------------------------------------------------------------------------

def _open_task(task_id: str) -> Any:
    task = db.session.execute(select(HT).where(HT.c.id == task_id)).first()
    if task is None:
        raise NotFoundError(msg("no task %(task_id)s", task_id=task_id))
    if task.state != HumanTaskState.OPEN:
        raise ConflictError(msg("the task is completed") if task.state == "completed" else msg("the task is cancelled"))
    return task


def reassign_task(rt: Runtime, task_id: str, *, actor: Actor, reason: str, username: str | None = None,
                  role: str | None = None) -> None:
    """Give an open task to one person (any active user) or back to a role's shared list."""
    _require_admin(actor)
    reason = _clean_reason(reason)
    if bool(username) == bool(role):
        raise InvalidRequestError(msg("choose a person or a role"),
                                  errors={"assignee": "choose a person or a role"})
    task = _open_task(task_id)
    instance = _load(task.instance_id)
    _refuse(instance, UNFINISHED_STATUSES, msg("reassign"))
    if username:
        person = db.session.scalars(select(User).where(User.username == username, User.is_active.is_(True))).first()
        if person is None:
            raise InvalidRequestError(msg("no active user %(username)s", username=username),
                                      errors={"username": "unknown"})
        values: dict[str, Any] = {"assignee": person.username, "claimed_by_id": person.id}
    else:
        if db.session.get(Role, role) is None:
            raise InvalidRequestError(msg("no role %(role)s", role=role), errors={"role": "unknown"})
        values = {"role": role, "assignee": None, "claimed_by_id": None}
    now = rt.clock.now()
    with step_transaction():
        _move(instance)  # the task moves with its instance: a completion racing this repair gets a 409
        db.session.execute(update(HT).where(HT.c.id == task_id, TASK_IS_OPEN).values(**values))
        record_event(instance.id, "reassigned", at=now, actor_id=actor.id, task_id=task_id,
                     data={"reason": reason, "from": task.assignee or task.role, "to": username or role})


def edit_task_data(rt: Runtime, task_id: str, changes: Mapping[str, Any], *, actor: Actor, reason: str) -> None:
    """Change variables an open task will see; the audit event keeps the old and new values."""
    _require_admin(actor)
    reason = _clean_reason(reason)
    if not isinstance(changes, Mapping) or not changes:
        raise InvalidRequestError(msg("give the data to change"), errors={"data": "required"})
    bad = [name for name in changes if not isinstance(name, str) or not name.isidentifier()]
    if bad:
        raise InvalidRequestError(msg("invalid variable names"), errors={"data": ", ".join(map(str, bad))})
    task = _open_task(task_id)
    instance = _load(task.instance_id)
    _refuse(instance, UNFINISHED_STATUSES, msg("edit data"))
    form = rt.bundles.get(instance.spec_key).forms.get(task.form_key) if task.form_key else None
    _check_against_form(form, changes)
    try:
        state, before = set_task_data(rt.engine, instance.state, task_id, changes)
    except (TaskNotFoundError, TaskNotReadyError) as exc:
        raise ConflictError(msg("the task is no longer ready")) from exc
    now = rt.clock.now()
    with step_transaction():
        _move(instance, state=state)
        record_event(instance.id, "data_edited", at=now, actor_id=actor.id, task_id=task_id,
                     data={"reason": reason, "changes": {name: {"from": before.get(name), "to": value}
                                                         for name, value in changes.items()}})


def _check_against_form(form: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> None:
    """A variable that is a field of the task's form must still fit the field (type, choices, limits)."""
    fields = {name: spec for name, spec in ((form or {}).get("properties") or {}).items() if name in changes}
    if not fields:
        return
    validator = Draft202012Validator({"type": "object", "properties": fields})
    errors = {".".join(str(part) for part in error.absolute_path) or "data": error.message
              for error in validator.iter_errors({name: changes[name] for name in fields})}
    if errors:
        raise InvalidRequestError(msg("the data does not fit the task's form"), errors=errors)


# --- migration --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MigrationCheck:
    instance_id: int
    ticket_number: str | None
    from_version: int | None
    can_move: bool
    reasons: tuple[Message, ...]


def _target(bundle_id: int) -> Bundle:
    bundle = db.session.get(Bundle, bundle_id)
    if bundle is None:
        raise InvalidRequestError(msg("no version %(bundle_id)s", bundle_id=bundle_id), errors={"target": "unknown"})
    return bundle


def check_migration(rt: Runtime, instance_ids: list[int], target_bundle_id: int) -> list[MigrationCheck]:
    """Dry run: which instances can move to the target version, and why not the others. Writes nothing."""
    target = _target(target_bundle_id)
    versions = dict(db.session.execute(select(Bundle.id, Bundle.version)).all())
    numbers: dict[int, str] = dict(db.session.execute(select(T.c.instance_id, T.c.number)
                                      .where(T.c.instance_id.in_(instance_ids))).all())
    checks = []
    for instance_id in instance_ids:
        row = db.session.execute(select(PI.c.id, PI.c.status, PI.c.state, PI.c.lock_version, PI.c.spec_key,
                                        PI.c.bundle_id, PI.c.process_id).where(PI.c.id == instance_id)).first()
        if row is None:
            checks.append(MigrationCheck(instance_id, None, None, False, (msg("no such instance"),)))
            continue
        instance = _Instance(*row)
        reasons = _migration_reasons(rt, instance, target, versions)
        checks.append(MigrationCheck(instance.id, numbers.get(instance.id), versions.get(instance.bundle_id),
                                     not reasons, tuple(reasons)))
    return checks


def _migration_reasons(rt: Runtime, instance: _Instance, target: Bundle, versions: dict[int, int]) -> list[Message]:
    if instance.process_id != target.process_id:
        return [msg("belongs to another flow (%(process_id)s)", process_id=instance.process_id)]
    if instance.bundle_id == target.id:
        return [msg("already on this version")]
    if versions.get(instance.bundle_id, 0) > target.version:
        return [msg("the target version is older")]
    if instance.status in FINISHED_STATUSES:
        return [msg("finished (%(status)s)", status=instance.status)]
    if not instance.state:
        return [msg("no state to move (failed at start)")]
    problems: list[Message] = [*migration_problems(rt.engine, instance.state, target.spec_key)]
    return problems


def migrate_instances(rt: Runtime, instance_ids: list[int], target_bundle_id: int, *, actor: Actor,
                      reason: str) -> list[MigrationCheck]:
    """Move every instance that can move (each in its own transaction); report every instance's result."""
    _require_admin(actor)
    reason = _clean_reason(reason)
    target = _target(target_bundle_id)
    checks = check_migration(rt, instance_ids, target_bundle_id)
    results = []
    for check in checks:
        if not check.can_move:
            results.append(check)
            continue
        try:
            _migrate_one(rt, _load(check.instance_id), target, actor=actor, reason=reason,
                         from_version=check.from_version)
            results.append(check)
        except (MigrationRefusedError, EngineRunError, ConflictError) as exc:
            db.session.rollback()
            why = getattr(exc, "reasons", None) or [getattr(exc, "message", None) or str(exc)]
            results.append(MigrationCheck(check.instance_id, check.ticket_number, check.from_version, False,
                                          tuple(why)))
    return results


def _migrate_one(rt: Runtime, instance: _Instance, target: Bundle, *, actor: Actor, reason: str,
                 from_version: int | None) -> None:
    result = migrate(rt.engine, instance.state, target.spec_key)
    now = rt.clock.now()
    open_tasks = open_tasks_of(instance.id)
    step, _still_open = plan_step(instance_id=instance.id, lock_version=instance.lock_version, result=result,
                                  facts=rt.bundles.get(target.spec_key), now=now, open_tasks=open_tasks)
    if instance.status == InstanceStatus.SUSPENDED:
        # A suspended instance stays suspended on its new version.
        step.instance_values["status"] = InstanceStatus.SUSPENDED
    ticket_id = db.session.scalar(select(T.c.id).where(T.c.instance_id == instance.id))
    with step_transaction():
        write_step(step)
        db.session.execute(update(PI).where(PI.c.id == instance.id)
                           .values(bundle_id=target.id, spec_key=target.spec_key))
        _describe_kept_tasks(result, {task.id for task in open_tasks})
        record_event(instance.id, "migrated", at=now, actor_id=actor.id,
                     data={"reason": reason, "from_version": from_version, "to_version": target.version})
        if ticket_id is not None:
            sync_ticket_after_step(rt, ticket_id, result, user=actor)
        reschedule_timer_job(instance.id, now=now)


def _describe_kept_tasks(result: StepResult, kept_ids: set[str]) -> None:
    """A task still open after the move shows the new version's title and form (who holds it stays)."""
    for view in result.ready_tasks:
        if view.task_id in kept_ids:
            db.session.execute(update(HT).where(HT.c.id == view.task_id, TASK_IS_OPEN).values(
                title=view.title, form_key=view.form_key, element_id=view.name, process_id=view.process_id))
