"""A ticket's story as an owner reads it: received, dispatched to …, appointment, being repaired, waiting for …,
done, called back. Built from the steps staff completed (the audit trail) and the ticket's columns.

No staff names but the technician's (display name), no phone but the number the owner may call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Department, HumanTask, Ticket, User
from app.services.errors import Bilingual, Text, msg
from app.services.steps.write import TASK_IS_OPEN
from app.services.work.waiting import describe_wait, wait_of

# A completed step (its element id) -> what it means for the owner.
_DONE = {
    "review_online": msg("Checked by the service desk"),
    "forward_to_department": msg("Forwarded to the department in charge"),
    "acknowledge": msg("The department in charge has it"),
    "answer_consultation": msg("Answered by the service desk"),
    "reply_consultation": msg("The department replied"),
    "arrange_service": msg("Service arranged"),
    "judge_validity": msg("Complaint accepted; the department in charge is on it"),
    "supervisor_judge_validity": msg("Complaint accepted; the department in charge is on it"),
    "contact_and_investigate": msg("The department contacted you and investigated"),
    "propose_solution": msg("A solution was proposed"),
    "implement_solution": msg("The solution was carried out"),
    "inspect_on_site": msg("Inspected on site"),
    "carry_out_repair": msg("Repair done"),
    "owner_acceptance": msg("Accepted and signed"),
    "confirm_repair": msg("Checked by the engineering supervisor"),
    "call_owner": msg("Called back"),
}
# An open step -> what is happening now.
_NOW = {
    "review_online": msg("The service desk is checking your report"),
    "dispatch_technician": msg("Waiting to be dispatched"),
    "agree_appointment": msg("We will call you to agree a visit"),
    "inspect_on_site": msg("The technician will inspect on site"),
    "carry_out_repair": msg("Being repaired"),
    "owner_acceptance": msg("Waiting for your acceptance"),
    "call_owner": msg("We will call you back"),
}


@dataclass(frozen=True)
class StoryLine:
    at: datetime | None
    text: Text
    current: bool = False


@dataclass(frozen=True)
class Technician:
    name: str
    phone: str  # the number the owner may call: the service desk's (technicians' own numbers stay private)


@dataclass(frozen=True)
class Story:
    lines: list[StoryLine]
    waiting: Text | None
    technician: Technician | None


def ticket_story(ticket: Ticket, *, now: datetime, timezone: str, desk_phone: str) -> Story:
    lines = [StoryLine(ticket.received_at, msg("Received: ticket %(number)s", number=ticket.number))]
    technician = None
    for event, element_id in _completed_steps(ticket.instance_id):
        data = event.data or {}
        if element_id == "dispatch_technician":
            technician = _technician(data.get("technician"), desk_phone) or technician
            name = technician.name if technician else "—"
            lines.append(StoryLine(event.at, msg("Dispatched to %(name)s", name=name)))
        elif element_id == "agree_appointment" and data.get("appointment_at"):
            at = _local(data["appointment_at"], timezone)
            lines.append(StoryLine(event.at, msg("Appointment agreed for %(at)s", at=at)))
        elif element_id in ("judge_validity", "supervisor_judge_validity") and data.get("valid") is False:
            lines.append(StoryLine(event.at, msg("The service desk will explain why this is not a valid complaint")))
        elif element_id in _DONE:
            lines.append(StoryLine(event.at, _DONE[element_id]))
    if ticket.closed_at is not None:
        lines.append(StoryLine(ticket.closed_at, msg("Done")))
    else:
        lines.extend(StoryLine(None, _NOW[name], current=True) for name in _open_steps(ticket.instance_id)
                     if name in _NOW)
        if ticket.department and not technician and ticket.category != "repair":
            lines.append(StoryLine(None, msg("With %(department)s", department=_department(ticket.department)),
                                   current=True))
    waiting = describe_wait(wait_of(ticket), now=now, timezone=timezone) if ticket.closed_at is None else None
    return Story(lines, waiting, technician)


def _completed_steps(instance_id: int) -> list[tuple[AuditEvent, str]]:
    rows = db.session.execute(
        select(AuditEvent, HumanTask.element_id).join(HumanTask, HumanTask.id == AuditEvent.task_id)
        .where(AuditEvent.instance_id == instance_id, AuditEvent.action == "complete").order_by(AuditEvent.id)).all()
    return [(event, element_id) for event, element_id in rows]


def _open_steps(instance_id: int) -> list[str]:
    return list(db.session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, TASK_IS_OPEN).order_by(HumanTask.created_at)))


def _technician(username: Any, desk_phone: str) -> Technician | None:
    if not isinstance(username, str) or not username:
        return None
    name = db.session.scalar(select(User.display_name).where(User.username == username))
    return Technician(str(name), desk_phone) if name else None


def _department(key: str) -> Bilingual:
    row = db.session.execute(select(Department.name_zh, Department.name_en).where(Department.key == key)).first()
    return Bilingual(f"{row.name_zh} / {row.name_en}" if row else key)


def _local(value: Any, timezone: str) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%m-%d %H:%M")
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M")
