"""What a repair work order tells the admin: a warranty that could not be judged (no handover date)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select

from app.extensions import db
from app.models import Ticket
from app.models.jobs import Notification
from app.services.jobs.notifications import notify, user_ids_with_role

UNKNOWN_WARRANTY = "warranty_unknown"


def flag_unknown_warranty(ticket_id: int, data: Mapping[str, Any], *, now: datetime, ticket: Any = None) -> int:
    """Tell every admin, once per ticket, that a repair's place has no handover date.

    The repair flow sets ``warranty_unknown`` and treats the order as outside the warranty; the
    admin records the date (a unit's or common area's handover) so the next order is judged right.
    ``ticket``: the ticket's row as the step left it, when the caller has read it. Returns how many notices were
    written.
    """
    if not data.get(UNKNOWN_WARRANTY):
        return 0
    already = db.session.scalar(select(exists().where(Notification.ticket_id == ticket_id,
                                                      Notification.kind == UNKNOWN_WARRANTY)))
    if already:
        return 0
    if ticket is None:
        ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return 0
    params = {"number": ticket.number, "unit": ticket.unit_code, "project": ticket.project_key,
              "common_area": bool(data.get("common_area"))}
    return notify(user_ids_with_role("admin"), kind=UNKNOWN_WARRANTY, params=params, now=now, ticket_id=ticket_id,
                  link=f"/tickets/{ticket.number}")
