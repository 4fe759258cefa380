"""Dashboard pre-aggregates (daily KPI counters) and the stored weekly reports.

``kpi_daily`` holds one row of counters per business day, project, dimension and value, kept up
to date inside every ticket step's transaction, so the dashboard sums a few thousand rows instead
of scanning a million tickets. ``kpi_ticket_facts`` remembers what each ticket last contributed,
so a change (a department set, a ticket closed or reopened) moves exactly its old counts to the
new ones. Both can be rebuilt from the tickets (``app.services.figures.counters.rebuild``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime


class KpiTicketFacts(Base):
    """What one ticket contributes to the counters, as last counted."""

    __tablename__ = "kpi_ticket_facts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    project_key: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(40), default="")
    category: Mapped[str] = mapped_column(String(20))
    hot_spot: Mapped[str] = mapped_column(String(40), default="")
    received_day: Mapped[date] = mapped_column(Date)
    closed_day: Mapped[date | None] = mapped_column(Date)
    closed_in_time: Mapped[bool] = mapped_column(default=False)
    closed_first_time: Mapped[bool] = mapped_column(default=False)
    satisfaction: Mapped[str] = mapped_column(String(20), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="")
    repeat_repair: Mapped[bool] = mapped_column(default=False)
    attached_calls: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[bool] = mapped_column(default=False)
    escalated: Mapped[bool] = mapped_column(default=False)
    had_limit: Mapped[bool] = mapped_column(default=True)  # a time limit was set: it counts in the 及时率
    duplicate_dispatch: Mapped[bool] = mapped_column(default=False)  # a second dispatch (重复派单)
    # The last audit event whose completed task was added to the stage and person times.
    counted_event_id: Mapped[int] = mapped_column(default=0)


class KpiDaily(Base):
    """Counters of one business day, project and (dimension, value).

    Dimensions: ``all`` (value ""), ``department``, ``category``, ``hot_spot`` (tickets), ``element``
    (value ``process_id/element_id``) and ``user`` (value: the user id) for completed tasks.
    """

    __tablename__ = "kpi_daily"

    dimension: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    project_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(160), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(200))
    received: Mapped[int] = mapped_column(default=0)
    closed_of_received: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    closed_in_time: Mapped[int] = mapped_column(default=0)
    closed_first_time: Mapped[int] = mapped_column(default=0)
    callbacks_attempted: Mapped[int] = mapped_column(default=0)
    callbacks_reached: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    repeat_repairs: Mapped[int] = mapped_column(default=0)
    attached_calls: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[int] = mapped_column(default=0)
    escalated: Mapped[int] = mapped_column(default=0)
    tasks_done: Mapped[int] = mapped_column(default=0)
    task_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    closed_with_limit: Mapped[int] = mapped_column(default=0)  # the 及时率's denominator
    duplicate_dispatches: Mapped[int] = mapped_column(default=0)


class WeeklyReport(Base):
    """The Monday list of every ticket still open, as it stood when generated (one per business week)."""

    __tablename__ = "weekly_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, unique=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    open_count: Mapped[int]
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
