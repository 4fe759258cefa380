"""Admin console: saved instance-list filters and the personal-data access log (PIPL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime

PII_EXPORT_ROLE = "pii_export"


class SavedFilter(Base):
    """An instance-list filter an admin or manager saved under a name (each person has their own)."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_filters_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[dict[str, Any]] = mapped_column(JsonType)  # filter name -> value, as in the list's URL
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PiiAccess(Base):
    """One view of a full phone number, or one export: who, when, which ticket(s)."""

    __tablename__ = "pii_access_log"
    __table_args__ = (
        Index("ix_pii_access_log_at", "at"),
        Index("ix_pii_access_log_user_at", "user_id", "at"),
        Index("ix_pii_access_log_ticket", "ticket_number", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(80))  # kept when the user row goes
    action: Mapped[str] = mapped_column(String(30))  # view_phone | export_csv | export_xlsx
    source: Mapped[str] = mapped_column(String(40))  # the page or export that showed it
    ticket_number: Mapped[str | None] = mapped_column(String(20))
    masked: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonType)  # an export's filter, row count, tickets
    at: Mapped[datetime] = mapped_column(UTCDateTime())
