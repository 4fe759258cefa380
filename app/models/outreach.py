"""Work the centre starts itself (主动服务): planned callbacks by customer type, and surveys sent to owners."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime

PLANNED_CALLBACKS_JOB = "planned-callbacks"  # the daily job's key and kind (services/outreach/planned_callbacks.py)


class CallbackPlan(Base):
    """One owner to call back for one reason (customer type), from ``due_on``; the process
    ``planned_callback`` makes the calls (how many, how far apart, how: ``callback_plan.dmn``).

    ``reason_key`` makes a plan once per event ("new_owner:unit:12", "closed_complaint:ticket:7",
    "vip:unit:12:2026-03"), so an event seen twice plans nothing more.
    """

    __tablename__ = "callback_plans"
    __table_args__ = (Index("ix_callback_plans_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reason_key: Mapped[str] = mapped_column(String(80), unique=True)
    customer_type: Mapped[str] = mapped_column(String(30))
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    unit_code: Mapped[str] = mapped_column(String(40))
    owner_name: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date)  # the first call's business day
    status: Mapped[str] = mapped_column(String(12), default="planned")  # planned | started | done | cancelled
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    department: Mapped[str | None] = mapped_column(String(40))  # the source ticket's responsible department
    technician: Mapped[str | None] = mapped_column(String(40))  # the source ticket's technician (a username)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallbackCall(Base):
    """One planned call as the agent recorded it: reached, satisfied, the issue raised and its ticket."""

    __tablename__ = "callback_calls"
    __table_args__ = (Index("ix_callback_calls_plan", "plan_id"), Index("ix_callback_calls_done", "done_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("callback_plans.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    method: Mapped[str | None] = mapped_column(String(12))
    reached: Mapped[bool]
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    issue: Mapped[str | None] = mapped_column(Text)
    remarks: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Survey(Base):
    """A survey: a form of ``forms/`` (kept as sent, so later edits of the form change nothing) sent by
    text to the owners of a project, a building or some units."""

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_callback_plan", "callback_plan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    form_key: Mapped[str] = mapped_column(String(120))
    form: Mapped[dict[str, Any]] = mapped_column(JSON)  # JSON, not JSONB: the questions keep the form's order
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    building: Mapped[str | None] = mapped_column(String(20))
    closes_on: Mapped[date | None] = mapped_column(Date)
    # a planned callback's survey (method sms or email): the owner's answer is that call's outcome
    callback_plan_id: Mapped[int | None]  # callback_plans.id (no foreign key: migrations/…a1b2c3d40026)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyRecipient(Base):
    """One owner a survey was sent to (by phone); ``answers`` once they answered (the first answer counts)."""

    __tablename__ = "survey_recipients"
    __table_args__ = (UniqueConstraint("survey_id", "phone", name="uq_survey_recipients_survey_phone"),
                      Index("ix_survey_recipients_link_hash", "link_hash", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str | None] = mapped_column(String(40))
    texted: Mapped[bool] = mapped_column(default=False)  # False: no mobile number, nothing was sent
    answers: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    link_hash: Mapped[str | None] = mapped_column(String(64))  # a callback survey's random link, SHA-256 hex
