"""Tickets (工单): the business object staff talk about, one per reception instance; projects and units."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

user_projects = Table(
    "user_projects", Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("project_key", ForeignKey("projects.key", ondelete="CASCADE"), primary_key=True),
)


class Project(Base):
    """A development (楼盘) the company manages."""

    __tablename__ = "projects"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    city: Mapped[str | None] = mapped_column(String(40))


class Unit(Base):
    """A unit (building-room) or a common area of a project."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("project_key", "code", name="uq_units_project_code"),
                      # who calls (services/work/callers.py), whose units (services/work/ticket_search.py)
                      Index("ix_units_owner_phone", "owner_phone"), Index("ix_units_owner_name", "owner_name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    code: Mapped[str] = mapped_column(String(40))  # e.g. "3栋-1202", or a common area's name
    building: Mapped[str | None] = mapped_column(String(20))
    room: Mapped[str | None] = mapped_column(String(20))
    owner_name: Mapped[str | None] = mapped_column(String(40))
    owner_phone: Mapped[str | None] = mapped_column(String(20))
    handover_date: Mapped[date | None] = mapped_column(Date)
    is_common_area: Mapped[bool] = mapped_column(default=False)
    owner_email: Mapped[str | None] = mapped_column(String(120))  # planned callbacks by e-mail (电邮沟通)
    contract_end_date: Mapped[date | None] = mapped_column(Date)  # the property-service contract's last day


class Ticket(Base):
    """A ticket's indexed columns, kept in sync with its reception instance at every step."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_unit_category", "project_key", "unit_code", "category", "received_at"),
        Index("ix_tickets_project_received", "project_key", "received_at"),
        Index("ix_tickets_phone", "phone"),
        Index("ix_tickets_open_due", "closed_at", "due_at"),
        # Ticket search (docs/search.md); the trigram index of search_text and the phone's last-four-digits
        # index differ by database and are made by their migration (a1b2c3d40012) only.
        Index("ix_tickets_unit_key", "unit_key", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), unique=True)
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    unit_code: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20))
    part: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(20))
    caller: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(30))  # a TicketStage
    department: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the visit agreed with the owner
    emergency: Mapped[bool | None]  # the intake's 突发 answer; first in the technician's inbox
    escalation_level: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[bool] = mapped_column(default=False)
    reopened_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    rework_count: Mapped[int] = mapped_column(default=0)
    repeat_repair: Mapped[bool] = mapped_column(default=False)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_in_time: Mapped[bool | None]
    closed_first_time: Mapped[bool | None]
    attached_calls: Mapped[int] = mapped_column(default=0)
    # What the open ticket waits for (app/services/work/waiting.py), written by every step's ticket sync.
    waiting_for: Mapped[str | None] = mapped_column(String(30))  # a kind: night_hold, callback_retry, paused…
    waiting_note: Mapped[str | None] = mapped_column(String(200))  # the step's title, a pause's reason
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a pause's start
    waiting_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the wait ends or is due
    chase_count: Mapped[int] = mapped_column(default=0, server_default="0")  # calls attached while open (催办)
    # What the staff search finds a ticket by (app/services/work/search_text.py), written by the ticket sync.
    search_text: Mapped[str | None] = mapped_column(Text)  # caller and description, Chinese in two-character pieces
    unit_key: Mapped[str | None] = mapped_column(String(40))  # the unit by its numbers: "3栋-0102" → "3-102"


class TicketCounter(Base):
    """The last ticket number given out on a (business-time) day."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD
    last_number: Mapped[int]
