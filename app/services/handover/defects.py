"""A unit's handover steps (process ``handover``), inside their transaction (services/work/after_step.py):
each defect recorded opens a repair ticket as the ticket service opens any repair (its number, deadlines and
the warranty decision, which reads the unit's handover date), and the owner's re-inspection closes the defect
list only when every defect is repaired; the re-inspection appears only then (``repairs``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Ticket
from app.models.handover import HandoverDefect, HandoverUnit
from app.services.access import Actor
from app.services.errors import ConflictError, msg
from app.services.handover.repairs import REPAIRS_DONE, tell_when_repaired, unrepaired_numbers
from app.services.jobs.deadlines import WORK_DONE_STAGES
from app.services.runtime import Runtime
from app.services.work.after_step import StepDone, after_step
from app.services.work.tickets import open_ticket

PROCESS_ID = "handover"
RECORD = "record_defect"
REINSPECT = "owner_reinspect"


@after_step(PROCESS_ID)
def after_handover_step(rt: Runtime, step: StepDone) -> None:
    """What a handover step means; raise Conflict (the task is not completed) when the instance is not a unit's
    handover, or when the owner signs while a defect is still being repaired."""
    unit = db.session.scalar(select(HandoverUnit).where(HandoverUnit.instance_id == step.instance_id))
    completed, result = step.task, step.result
    if unit is None:
        if completed is None:
            return  # a timer of a handover started by hand: nothing of a batch to keep
        raise ConflictError(msg("this handover was not started by a handover batch"))
    if completed is not None:
        element_id, submitted = completed.snapshot.element_id, completed.submitted
        if element_id == RECORD and submitted.get("has_defect"):
            _record_defect(rt, unit, submitted, result.data, user=completed.by)
        elif element_id == REINSPECT and submitted.get("owner_accepts"):
            _close_defect_list(unit, submitted, now=rt.clock.now())
    if step.message != REPAIRS_DONE and REPAIRS_DONE in result.awaited_messages:  # were they all done already?
        db.session.flush()
        tell_when_repaired(rt, unit.id)


def _record_defect(rt: Runtime, unit: HandoverUnit, submitted: Mapping[str, Any], data: Mapping[str, Any], *,
                   user: Actor) -> None:
    hot_tag = str(data.get("hot_tag") or "") or None
    label = f"收楼遗留问题·{hot_tag}" if hot_tag else "收楼遗留问题"
    intake = {"project": unit.project_key, "unit": unit.unit_code, "caller_name": data["owner_name"],
              "phone": data["owner_phone"], "channel": "walk_in", "category": "repair", "part": submitted["part"],
              "description": f"【{label}】{submitted['location']}：{submitted['description']}",
              "urgency": data.get("repair_urgency") or "normal", "emergency": False}
    if submitted.get("photo"):
        intake["photo"] = submitted["photo"]
    opened = open_ticket(rt, intake, user=user)
    db.session.add(HandoverDefect(
        handover_unit_id=unit.id, ticket_id=opened.ticket_id, location=submitted["location"],
        part=submitted["part"], defect_type=submitted["defect_type"], hot_tag=hot_tag,
        description=submitted["description"], photo=submitted.get("photo") or None,
        round=int(data.get("defect_round") or 1), close_by=datetime.fromisoformat(str(data["defect_close_by"])),
        recorded_at=rt.clock.now()))
    unit.status = "repairing"


def _close_defect_list(unit: HandoverUnit, submitted: Mapping[str, Any], *, now: datetime) -> None:
    unrepaired = unrepaired_numbers(unit.id)  # the flow waits for the repairs; a rework may have reopened one
    if unrepaired:
        raise ConflictError(msg("the owner signs only when every defect is repaired; still open: %(numbers)s",
                                numbers=", ".join(unrepaired)))
    unit.status, unit.signature, unit.signed_at = "closed", str(submitted["owner_signature"]), now


def is_repaired(ticket: Ticket) -> bool:
    return ticket.closed_at is not None or ticket.stage in WORK_DONE_STAGES
