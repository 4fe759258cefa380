"""Chasing (催办): a repeated call attached to an open ticket is the owner chasing it.

Each chase is counted on the ticket, tells whoever holds its current task and the CS supervisors (the bell, and
a text to those with a mobile on their user record), and every ``chase_escalate_after`` chases (a setting,
default 2) raise the ticket one escalation level (``deadlines.escalate_one_level``). Runs inside the
transaction that records the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.extensions import db
from app.models import Ticket, User
from app.services.jobs.deadlines import CATEGORY_ZH, escalate_one_level, holders_of_open_tasks
from app.services.jobs.notifications import notify, queue_text, user_ids_with_role
from app.services.settings import get_setting
from app.services.steps.plan import record_event


@dataclass(frozen=True)
class Chase:
    count: int  # the how-many-th chase this was
    escalated_to: int  # the level it raised the ticket to; 0 when it did not escalate


def chase_ticket(ticket: Ticket, *, now: datetime, actor_id: int | None) -> Chase:
    """Count one chase on the open ``ticket``, tell its task holders and the CS supervisors, escalate when due."""
    count = int(db.session.execute(update(Ticket).where(Ticket.id == ticket.id)
                                   .values(chase_count=Ticket.chase_count + 1)
                                   .returning(Ticket.chase_count)).scalar_one())
    people = list(dict.fromkeys(holders_of_open_tasks(ticket.instance_id) + user_ids_with_role("cs_supervisor")))
    params = {"number": ticket.number, "category": ticket.category, "unit": ticket.unit_code, "count": count}
    notify(people, kind="chased", now=now, ticket_id=ticket.id, link=f"/tickets/{ticket.number}", params=params)
    text = {"category": CATEGORY_ZH.get(ticket.category, "来电"), "number": ticket.number,
            "unit": ticket.unit_code or "-", "count": count}
    texted = [user.username for user in _users(people)
              if queue_text(user.phone, "staff_chased", text, now=now, ticket_id=ticket.id)]
    record_event(ticket.instance_id, "chased", at=now, actor_id=actor_id, data={"count": count, "texted": len(texted)})
    every = int(get_setting("chase_escalate_after"))
    level = escalate_one_level(ticket.id, now=now, cause={"chases": count}) if count % every == 0 else 0
    return Chase(count, level)


def _users(user_ids: list[int]) -> list[User]:
    if not user_ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)))
