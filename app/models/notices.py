"""Notices to owners (通知): a water or power cut, lift maintenance, a fee reminder, a community event, sent on
the three channels of seed 000 (texts, the letterboxes, the notice board) once the CS supervisor approves it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime


class Notice(Base):
    """A notice as drafted and, once approved, as sent; its ``notice`` process instance runs the approval.

    ``status``: pending (waits for approval) | sent_back (with ``review_note``) | sent | withdrawn.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_project_window", "project_key", "status", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instances.id", ondelete="SET NULL"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # water_power_cut | lift_maintenance | fee_reminder | event
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    buildings: Mapped[list[str]] = mapped_column(JsonType)  # empty: the whole project
    unit_codes: Mapped[list[str]] = mapped_column(JsonType)  # empty: every unit of the buildings
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    staff_audience: Mapped[str] = mapped_column(String(20), default="none")  # none | cs_team | all_staff
    status: Mapped[str] = mapped_column(String(12), default="pending")
    review_note: Mapped[str | None] = mapped_column(Text)
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NoticeRecipient(Base):
    """One unit a sent notice addresses: its text (an outbox row, None when the unit has no mobile number)
    and whether staff delivered it by hand."""

    __tablename__ = "notice_recipients"
    __table_args__ = (UniqueConstraint("notice_id", "unit_id", name="uq_notice_recipients_notice_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    unit_code: Mapped[str] = mapped_column(String(40))
    owner_name: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    texts_sent: Mapped[int] = mapped_column(default=0)  # texts queued so far (re-sends included)
    delivered_by_hand_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_by_hand_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hand_note: Mapped[str | None] = mapped_column(String(200))

