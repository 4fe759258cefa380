"""Deployed bundles and what was last deployed from disk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime
from app.models.users import User


class Bundle(Base):
    """One version of a top-level process with everything it calls and uses, frozen."""

    __tablename__ = "bundles"
    __table_args__ = (
        UniqueConstraint("process_id", "version", name="uq_bundles_process_version"),
        Index("ix_bundles_spec_key", "spec_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    spec_key: Mapped[str] = mapped_column(String(200))
    files: Mapped[dict[str, Any]] = mapped_column(JsonType)  # file name -> text
    serialized_spec: Mapped[str] = mapped_column(Text)
    lane_roles: Mapped[dict[str, Any]] = mapped_column(JsonType)  # lane name -> role key
    start_roles: Mapped[list[Any]] = mapped_column(JsonType)
    start_form: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10))  # disk | api
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deployed_by: Mapped[User | None] = relationship()


class DiskFile(Base):
    """The hash of each file as it was on disk at the last ``flask deploy``."""

    __tablename__ = "disk_files"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
