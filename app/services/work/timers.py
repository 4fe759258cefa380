"""Firing an instance's due timers (deadlines, callback delays, the 08:00 hand-over) and storing the step.

The worker (app.worker) runs an instance's timer job through ``fire_due_timers`` once its
``next_timer_at`` has passed; tests and the demo may also call it after moving the clock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.engine import EngineRunError
from app.extensions import db
from app.models import ACTIVE_STATUSES, InstanceStatus, ProcessInstance, Ticket
from app.services.access import Actor
from app.services.errors import NotFoundError, msg
from app.services.runtime import Runtime
from app.services.steps.plan import (
    InstanceOutcome,
    event_row,
    open_tasks_of,
    plan_error,
    plan_step,
    step_transaction,
)
from app.services.steps.write import write_step
from app.services.work.after_step import StepDone, run_after_step
from app.services.work.tickets import sync_ticket_after_step


def due_instance_ids(now: datetime, *, limit: int = 500) -> list[int]:
    """Active instances whose earliest timer is due (strictly before ``now``, as the engine fires them)."""
    return list(db.session.scalars(
        select(ProcessInstance.id)
        .where(ProcessInstance.status.in_(ACTIVE_STATUSES), ProcessInstance.next_timer_at < now)
        .order_by(ProcessInstance.next_timer_at).limit(limit)
    ))


def fire_due_timers(rt: Runtime, instance_id: int, *, actor: Actor | None = None,
                    raise_errors: bool = False) -> InstanceOutcome:
    """Fire what is due on one instance; state, task index, audit and ticket move together.

    Nothing is written when no timer is due yet. A timer whose expression fails puts the instance
    in ``error`` (previous state kept) — or, with ``raise_errors`` (the worker, which retries before
    it gives up), raises EngineRunError and writes nothing.
    Raises NotFoundError; ConflictError if another writer moved the instance meanwhile.
    """
    instance = db.session.get(ProcessInstance, instance_id, populate_existing=True)
    if instance is None:
        raise NotFoundError(msg("no instance %(instance_id)s", instance_id=instance_id))
    open_tasks = open_tasks_of(instance.id)
    if instance.status not in ACTIVE_STATUSES:
        return InstanceOutcome(instance.id, instance.status, open_tasks)
    now = rt.clock.now()
    if instance.next_timer_at is None or instance.next_timer_at >= now:
        return InstanceOutcome(instance.id, instance.status, open_tasks)
    try:
        result = rt.engine.fire_due_timers(instance.state)
    except EngineRunError as exc:
        if raise_errors:
            raise
        failed = plan_error(instance_id=instance.id, lock_version=instance.lock_version, error=exc.details, now=now)
        failed.events.append(event_row(instance.id, "error", at=now, data={"message": exc.details.message}))
        with step_transaction():
            write_step(failed)
        return InstanceOutcome(instance.id, InstanceStatus.ERROR, open_tasks)
    facts = rt.bundles.get(instance.spec_key)
    step, still_open = plan_step(instance_id=instance.id, lock_version=instance.lock_version, result=result,
                                 facts=facts, now=now, open_tasks=open_tasks, previous_timer_at=instance.next_timer_at)
    step.events.append(event_row(instance.id, "timer", at=now, actor_id=actor.id if actor else None))
    ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.instance_id == instance.id))
    with step_transaction():
        write_step(step)
        if ticket_id is not None:
            sync_ticket_after_step(rt, ticket_id, result, user=actor)
        run_after_step(rt, StepDone(instance.id, facts.process_id, result, "timer", actor=actor))
    return InstanceOutcome(instance.id, result.status, still_open)
