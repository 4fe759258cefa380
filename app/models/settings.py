"""The admin's settings (/admin/settings) and the audit of every change.

Only changed settings have a row; a key without one reads its declared default
(``app/engine/settings.py``). Every write adds a ``setting_changes`` row in the same transaction:
the newest change's (id, token) is the stamp every process's settings cache compares.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime


class Setting(Base):
    """The current value of one setting an admin changed."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JsonType, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SettingChange(Base):
    """One edit: who, when, old -> new. Rows are only added.

    ``token`` is random per change, so two databases (or a database restored from a backup) never
    show a process the same stamp for different values.
    """

    __tablename__ = "setting_changes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), index=True)
    old_value: Mapped[Any] = mapped_column(JsonType, nullable=True)  # what was read before: the default at first
    new_value: Mapped[Any] = mapped_column(JsonType, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_by_name: Mapped[str] = mapped_column(String(80))  # kept when the user row goes
    token: Mapped[str] = mapped_column(String(32))
