"""The texts that ask the owner for an answer from the phone: the rating link after the work is done.

``text_rating_link`` runs inside every ticket step (``work/tickets.sync_ticket_after_step``): the first
step after which the callback waits for the owner's rating (the ``owner_rates`` message beside the
agent's call) queues the ``owner_rating_link`` text, once per ticket. The sign link is the technician's
choice (``answers.ask_owner_to_sign``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.config import public_base_url
from app.engine import StepResult
from app.extensions import db
from app.models import Ticket
from app.models.jobs import OutboxMessage
from app.services.jobs.notifications import queue_text

RATING_MESSAGE = "owner_rates"


def owner_page_url(number: str, action: str) -> str:
    """The owner's page for one answer on ticket ``number`` (``rate``, ``sign``); the owner signs in there
    with a code if their phone has no session yet."""
    return f"{public_base_url()}/owner/tickets/{number}/{action}"


def text_rating_link(ticket_id: int, result: StepResult, *, now: datetime, ticket: Any = None) -> None:
    """Queue the rating link when the callback has just begun waiting for the owner's rating (once).

    ``ticket``: the ticket's row as the step left it, when the caller has read it (else it is read here)."""
    if RATING_MESSAGE not in result.awaited_messages:
        return
    already = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.ticket_id == ticket_id,
                                                               OutboxMessage.template == "owner_rating_link")
                                .limit(1))
    if ticket is None:
        ticket = db.session.get(Ticket, ticket_id)
    if already is not None or ticket is None or not ticket.phone:
        return
    queue_text(ticket.phone, "owner_rating_link", {"number": ticket.number, "url": owner_page_url(ticket.number,
                                                                                                   "rate")},
               now=now, ticket_id=ticket_id)
