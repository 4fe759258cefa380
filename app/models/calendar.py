"""The working calendar's overrides: holidays and make-up working days an admin enters by hand.

They win over the ``chinese-calendar`` package, so a site that cannot upgrade the package can still
enter next year's State Council announcement.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

HOLIDAY = "holiday"  # 放假: not a working day, even on a weekday
WORKDAY = "workday"  # 调休上班: a working day, even on a weekend
OVERRIDE_KINDS = (HOLIDAY, WORKDAY)


class CalendarOverride(Base):
    """One day whose kind the admin decided. Rows are added and removed, never edited.

    Ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so the row count with
    the highest id changes on every edit: the calendar cache of every process compares them.
    """

    __tablename__ = "calendar_overrides"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="ck_calendar_overrides_kind"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
