"""The CS supervisor acts on a wait, with a reason, audited, in one transaction: dispatch a night call now (the
hold's timer fires now), call back now (the callback's retry timer fires now), end a pause (its resume step is
completed in the supervisor's name with the reason as its note).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from app.engine import EngineRunError, StepResult, TaskNotFoundError, TaskNotReadyError, fire_timer_now
from app.extensions import db
from app.models import ACTIVE_STATUSES, ProcessInstance
from app.services.access import Actor, may_act_on_waits
from app.services.errors import ConflictError, ForbiddenError, InvalidRequestError, msg
from app.services.runtime import Runtime
from app.services.steps.plan import TaskSnapshot, event_row, open_tasks_of, plan_step, step_transaction
from app.services.steps.write import write_step
from app.services.work.after_step import CompletedTask, StepDone, run_after_step
from app.services.work.tickets import Ticket, sync_ticket_after_step, ticket_by_number
from app.services.work.waiting import CALLBACK_RETRY, NIGHT_HOLD, PAUSE_TASKS, PAUSED, SKIPPABLE_TIMERS

MAX_REASON = 500
ACTIONS = {"dispatch_now": NIGHT_HOLD, "call_back_now": CALLBACK_RETRY, "end_pause": PAUSED}
AUDIT_ACTIONS = {"dispatch_now": "dispatched_now", "call_back_now": "called_back_now", "end_pause": "pause_ended"}


@dataclass(frozen=True)
class _Instance:
    id: int
    spec_key: str
    status: str
    state: str
    lock_version: int
    next_timer_at: object


def actions_for(ticket: Ticket, *, user: Actor) -> list[str]:
    """The actions the ticket page offers ``user`` on the ticket's wait (none to those who may not act)."""
    if not may_act_on_waits(user) or ticket.closed_at is not None:
        return []
    return [action for action, wait in ACTIONS.items() if wait == ticket.waiting_for]


def act_on_wait(rt: Runtime, number: str, action: str, reason: str | None, *, user: Actor) -> Ticket:
    """Do ``action`` (``dispatch_now``, ``call_back_now``, ``end_pause``) on the ticket's wait; return the ticket.

    :raise NotFoundError: no such ticket in the user's projects.
    :raise ForbiddenError: the user may not act on waits (``access.may_act_on_waits``).
    :raise InvalidRequestError: an unknown action, or no reason / too long a reason.
    :raise ConflictError: the ticket no longer waits for that (or another step moved it meanwhile).
    """
    ticket = ticket_by_number(number, user=user)
    if not may_act_on_waits(user):
        raise ForbiddenError(msg("only the CS supervisor may act on a wait"))
    if action not in ACTIONS:
        raise InvalidRequestError(msg("unknown action %(action)s", action=action), errors={"action": "invalid"})
    text = _clean_reason(reason)
    instance = _instance(ticket.instance_id)
    if ticket.waiting_for != ACTIONS[action] or instance.status not in ACTIVE_STATUSES:
        raise ConflictError(msg("the ticket no longer waits for that"))
    open_tasks = open_tasks_of(instance.id)
    if action == "end_pause":
        _end_pause(rt, ticket, instance, open_tasks, text, user=user)
    else:
        element_id = SKIPPABLE_TIMERS[ACTIONS[action]]
        _run(rt, ticket, instance, open_tasks, lambda: fire_timer_now(rt.engine, instance.state, element_id),
             action=action, reason=text, user=user)
    return ticket_by_number(number, user=user)


def _end_pause(rt: Runtime, ticket: Ticket, instance: _Instance, open_tasks: list[TaskSnapshot], reason: str, *,
               user: Actor) -> None:
    task = next((task for task in open_tasks if task.element_id in PAUSE_TASKS), None)
    if task is None:
        raise ConflictError(msg("the ticket no longer waits for that"))
    data = {PAUSE_TASKS[task.element_id]: reason}
    _run(rt, ticket, instance, [t for t in open_tasks if t.id != task.id],
         lambda: rt.engine.complete(instance.state, task.id, data), action="end_pause", reason=reason, user=user,
         completed=(task, data))


def _run(rt: Runtime, ticket: Ticket, instance: _Instance, open_tasks: list[TaskSnapshot],
         step: Callable[[], StepResult], *, action: str, reason: str, user: Actor,
         completed: tuple[TaskSnapshot, dict[str, str]] | None = None) -> None:
    """Run the engine step and store it with the ticket and an audit event carrying the reason, in one commit."""
    now = rt.clock.now()
    try:
        result = step()
    except (TaskNotFoundError, TaskNotReadyError) as exc:
        raise ConflictError(msg("the ticket no longer waits for that")) from exc
    except EngineRunError as exc:
        raise ConflictError(msg("the step failed: %(message)s", message=exc.details.message)) from exc
    facts = rt.bundles.get(instance.spec_key)
    write, _ = plan_step(instance_id=instance.id, lock_version=instance.lock_version, result=result,
                         facts=facts, now=now, open_tasks=open_tasks, previous_timer_at=instance.next_timer_at)
    done = StepDone(instance.id, facts.process_id, result, "wait_action", actor=user,
                    task=CompletedTask(completed[0], completed[1], user) if completed is not None else None)
    if completed is not None:
        task, data = completed
        write.completed_task_id, write.completed_by_id = task.id, user.id
        write.events.append(event_row(instance.id, "complete", at=now, actor_id=user.id, task_id=task.id, data=data))
    write.events.append(event_row(instance.id, AUDIT_ACTIONS[action], at=now, actor_id=user.id,
                                  data={"reason": reason}))
    with step_transaction():
        write_step(write)
        sync_ticket_after_step(rt, ticket.id, result, user=user)
        run_after_step(rt, done)


def _instance(instance_id: int) -> _Instance:
    row = db.session.execute(select(ProcessInstance.id, ProcessInstance.spec_key, ProcessInstance.status,
                                    ProcessInstance.state, ProcessInstance.lock_version,
                                    ProcessInstance.next_timer_at).where(ProcessInstance.id == instance_id)).one()
    return _Instance(*row)


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidRequestError(msg("a reason is required"), errors={"reason": "required"})
    if len(text) > MAX_REASON or "\x00" in text:
        raise InvalidRequestError(msg("the reason is too long or invalid"), errors={"reason": "invalid"})
    return text
