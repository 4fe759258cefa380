"""What reception does at once for people: alert a person to a night emergency, phone an owner who cannot take texts.

Both run inside the transaction of the step that causes them (the ticket's start, or any later step).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.access import Actor
from app.services.jobs.deadlines import OwnerCall
from app.services.jobs.notifications import may_see_ticket, notify, queue_text, user_ids_with_role
from app.services.runtime import Runtime
from app.services.settings import get_setting
from app.services.steps.plan import record_event
from app.services.work.instances import start_for_the_system

PHONE_OWNER = "phone_owner"  # bpmn/phone_owner.bpmn: one task in the agents' inbox


def alert_night_emergency(rt: Runtime, ticket_id: int, instance_id: int, data: Mapping[str, Any], *,
                          now: datetime) -> None:
    """A night emergency: the engineer on call (setting ``engineer_on_call``) and the CS supervisors get a
    notice and a text at once (to the mobile on their user record). Recorded on the ticket's timeline with who
    was told, who was texted and who could not be (no mobile number).
    """
    people = _engineer_on_call() + _active_users(user_ids_with_role("cs_supervisor"))
    allowed = set(may_see_ticket([user.id for user in people], ticket_id))  # no text of another project's call
    people = [user for user in people if user.id in allowed]
    number = str(data.get("ticket_number", ""))
    params = {"number": number, "category": data.get("category"), "unit": data.get("unit"),
              "description": data.get("description"), "phone": data.get("phone")}
    notify([user.id for user in people], kind="night_emergency", now=now, ticket_id=ticket_id,
           link=f"/tickets/{number}", params=params)
    text = {name: str(data.get(name) or "-") for name in ("project", "unit", "description", "phone")}
    texted = [user.username for user in people
              if queue_text(user.phone, "staff_night_emergency", {"number": number or "-", **text}, now=now,
                            ticket_id=ticket_id)]
    record_event(instance_id, "night_emergency_alert", at=now,
                 data={"notified": [user.username for user in people], "texted": texted,
                       "not_texted": [user.username for user in people if user.username not in texted],
                       "engineer_on_call": get_setting("engineer_on_call") or None})


def _engineer_on_call() -> list[User]:
    username = get_setting("engineer_on_call")
    if not username:
        return []
    return list(db.session.scalars(select(User).where(User.username == str(username), User.is_active.is_(True))))


def _active_users(user_ids: list[int]) -> list[User]:
    if not user_ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)))


def phone_the_owner(rt: Runtime, call: OwnerCall, *, user: Actor | None, now: datetime) -> None:
    """The owner's number takes no texts (a landline): an agent gets "电话告知业主 / Phone the owner" with the
    text's words. Without the phone_owner process deployed, the agents get a notice instead.
    """
    started = start_for_the_system(rt, PHONE_OWNER, {"about_ticket": call.number, "owner_phone": call.phone,
                                                     "owner_message": call.message}, user=user)
    record_event(call.instance_id, "owner_phone_task", at=now,
                 data={"message": call.message, "phone_task_instance": started.instance_id if started else None})
    if started is None:
        notify(user_ids_with_role("cs_agent"), kind="phone_owner", now=now, ticket_id=call.ticket_id,
               link=f"/tickets/{call.number}", params={"number": call.number, "message": call.message})
