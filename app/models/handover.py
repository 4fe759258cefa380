"""Handover defects (收楼/入伙遗留问题): a project's imported handover batch, each unit's handover and the
defects its owner raised, each followed by a repair ticket until the owner re-inspects and signs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime


class HandoverBatch(Base):
    """One imported spreadsheet: the rows applied and the rows refused with their reasons."""

    __tablename__ = "handover_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    filename: Mapped[str] = mapped_column(String(200))
    rows_applied: Mapped[int] = mapped_column(default=0)
    refused: Mapped[list[dict[str, object]]] = mapped_column(JsonType, default=list)  # [{row, reason, values}]
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandoverUnit(Base):
    """A unit handed over in a batch: its handover instance (inspection, re-inspection) and its defect list."""

    __tablename__ = "handover_units"
    __table_args__ = (UniqueConstraint("unit_id", name="uq_handover_units_unit"),
                      Index("ix_handover_units_project_building", "project_key", "building"))

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("handover_batches.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    building: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str] = mapped_column(String(40))
    handover_date: Mapped[date] = mapped_column(Date)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="inspection")  # inspection, repairing, closed
    signature: Mapped[str | None] = mapped_column(String(200))  # the owner's re-inspection signature (a file)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HandoverDefect(Base):
    """A defect the owner raised at handover (or at re-inspection: a later round) and its repair ticket."""

    __tablename__ = "handover_defects"
    __table_args__ = (Index("ix_handover_defects_unit", "handover_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_unit_id: Mapped[int] = mapped_column(ForeignKey("handover_units.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    location: Mapped[str] = mapped_column(String(80))
    part: Mapped[str] = mapped_column(String(40))
    defect_type: Mapped[str] = mapped_column(String(20))
    hot_tag: Mapped[str | None] = mapped_column(String(10))  # 渗漏 or 裂 (seed 000's 渗漏裂), else None
    description: Mapped[str] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(200))
    round: Mapped[int] = mapped_column(default=1)  # 2+: raised again at re-inspection (rework)
    close_by: Mapped[datetime] = mapped_column(UTCDateTime())  # the handover table's limit (shorter when hot)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
