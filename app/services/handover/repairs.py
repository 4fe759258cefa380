"""The repairs of a unit's handover defects, and the message that lets the owner re-inspect.

A unit's ``handover`` waits at ``wait_repairs`` (message ``handover_repairs_done``) once its defects are
recorded, so the owner's re-inspection task appears only when it can be done. The message is sent in the
transaction of the step that finishes the last repair (``after_repair_step``, called by the ticket service for
every ticket step), or in the handover's own step when every repair was already done by the time the agent
finished recording (``tell_when_repaired`` from ``defects.after_handover_step``).

Two repairs finished at once must not both miss each other: the unit's row is locked (PostgreSQL) before its
repairs are counted, so the second transaction counts after the first committed. This module imports no ticket
service: the ticket service calls it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.engine import EngineRunError, MessageNotAwaitedError, StepResult
from app.extensions import db
from app.models import ACTIVE_STATUSES, ProcessInstance, Ticket
from app.models.handover import HandoverDefect, HandoverUnit
from app.services.jobs.deadlines import WORK_DONE_STAGES
from app.services.runtime import Runtime
from app.services.steps.plan import event_row, open_tasks_of, plan_error, plan_step, step_transaction
from app.services.steps.write import write_step
from app.services.work.after_step import StepDone, run_after_step

REPAIRS_DONE = "handover_repairs_done"  # the message wait_repairs of handover.bpmn waits for
REPAIRS_DONE_ACTION = "repairs_done"  # its audit line on the handover's timeline


def is_repair_step_done(result: StepResult) -> bool:
    """Whether a ticket's step leaves its work done (``deadlines.WORK_DONE_STAGES``, or the ticket closed)."""
    return result.status == "completed" or result.data.get("stage") in WORK_DONE_STAGES


def unrepaired_numbers(unit_id: int) -> list[str]:
    """The work orders of the unit's defects whose repair is not done yet, by number."""
    return list(db.session.scalars(
        select(Ticket.number).join(HandoverDefect, HandoverDefect.ticket_id == Ticket.id)
        .where(HandoverDefect.handover_unit_id == unit_id, Ticket.closed_at.is_(None),
               Ticket.stage.not_in(WORK_DONE_STAGES))
        .order_by(Ticket.number)))


def after_repair_step(rt: Runtime, result: StepResult, *, unit_id: int | None) -> None:
    """In a ticket step's transaction: when it finished the repair of a handover defect and every defect of
    that unit is now repaired, the unit's handover goes on to the owner's re-inspection.

    ``unit_id``: the handover unit whose defect the ticket repairs, None when it repairs none (the ticket
    service reads it with the ticket: ``TicketRow.defect_unit_id``)."""
    if unit_id is not None and is_repair_step_done(result):
        tell_when_repaired(rt, unit_id)


def tell_when_repaired(rt: Runtime, unit_id: int) -> bool:
    """Send ``handover_repairs_done`` to the unit's handover if every defect is repaired and the handover waits
    for it; True when it was sent. Joins the caller's transaction (``step_transaction``)."""
    unit = db.session.execute(select(HandoverUnit).where(HandoverUnit.id == unit_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if unit is None or unit.instance_id is None or unit.status == "closed" or unrepaired_numbers(unit.id):
        return False
    defects = db.session.scalar(select(func.count()).where(HandoverDefect.handover_unit_id == unit.id)) or 0
    return _deliver(rt, unit.instance_id, {"defects": defects})


def _deliver(rt: Runtime, instance_id: int, payload: dict[str, int]) -> bool:
    instance = db.session.get(ProcessInstance, instance_id, populate_existing=True)
    if instance is None or instance.status not in ACTIVE_STATUSES:
        return False
    now = rt.clock.now()
    try:
        result = rt.engine.deliver_message(instance.state, REPAIRS_DONE, payload)
    except MessageNotAwaitedError:
        return False  # still recording defects, or re-inspecting already: the handover asks when it gets there
    except EngineRunError as exc:  # the handover goes to error (the admin retries it); the repair still counts
        failed = plan_error(instance_id=instance.id, lock_version=instance.lock_version, error=exc.details, now=now)
        failed.events.append(event_row(instance.id, "error", at=now, data={"message": exc.details.message}))
        with step_transaction():
            write_step(failed)
        return False
    facts = rt.bundles.get(instance.spec_key)
    step, _still_open = plan_step(instance_id=instance.id, lock_version=instance.lock_version, result=result,
                                  facts=facts, now=now, open_tasks=open_tasks_of(instance.id),
                                  previous_timer_at=instance.next_timer_at)
    step.events.append(event_row(instance.id, REPAIRS_DONE_ACTION, at=now, data=payload))
    with step_transaction():
        write_step(step)
        run_after_step(rt, StepDone(instance.id, facts.process_id, result, "message", message=REPAIRS_DONE))
    return True
