"""The owners' lines in the personal-data access log (PIPL): every sign-in and every export of their data
(with the e-mail addresses it held, so a request about an address finds the exports that gave it out).

They go in the same table as staff views (``pii_access_log``), without a user: the owner is named by
their masked number, the full number kept in the detail for the data subject's own requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert

from app.extensions import db
from app.models.admin import PiiAccess
from app.services.owners.identity import mask_phone

OWNER_ACTIONS = ("owner_sign_in", "owner_export")


def log_owner_sign_in(phone: str, *, via: str, address: str, now: datetime) -> None:
    """Record an owner's sign-in (in the caller's transaction)."""
    _log(phone, "owner_sign_in", source=f"owner_{via}", detail={"address": address}, now=now)


def log_owner_export(phone: str, ticket_numbers: list[str], *, emails: list[str], now: datetime) -> None:
    """Record an owner's download of their own data (in the caller's transaction)."""
    _log(phone, "owner_export", source="owner_pages", detail={"tickets": ticket_numbers, "emails": emails}, now=now,
         ticket_number=ticket_numbers[0] if len(ticket_numbers) == 1 else None)


def _log(phone: str, action: str, *, source: str, detail: dict[str, Any], now: datetime,
         ticket_number: str | None = None) -> None:
    db.session.execute(insert(PiiAccess).values(
        user_id=None, username=f"owner {mask_phone(phone)}", action=action, source=source,
        ticket_number=ticket_number, masked=True, detail={"phone": phone, **detail}, at=now))
