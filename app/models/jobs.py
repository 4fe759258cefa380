"""Jobs (timers and scheduled work the worker runs), staff notifications and the SMS/e-mail outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.states import OutboxStatus
from app.models.types import JsonType, UTCDateTime


class Job(Base):
    """Work due at a time. ``key`` names it ("timer:42", "reminder:7", "weekly-report"), so a job is upserted.

    Kinds: ``timer`` (an instance's waiting timers; due at its earliest), ``reminder`` (80 % of a ticket's
    limit), ``escalate`` (level 3: half the limit past it), ``weekly-report``. A worker takes a job by
    writing ``lock_owner`` and ``lock_expires_at``; a crashed worker's job is taken again after expiry.
    ``retries_left`` reaching 0 makes the job an incident (kept, not run, until an admin retries it).
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "due_at"), Index("ix_jobs_instance", "instance_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # a JobKind
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lock_owner: Mapped[str | None] = mapped_column(String(120))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retries_left: Mapped[int] = mapped_column(default=3)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """An in-app notice to one person (the bell). Text is rendered in the reader's language from ``params``."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType)
    link: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """An SMS or e-mail waiting to be sent by the worker; retried with back-off when the sender fails.

    An SMS names its template (services/jobs/sms_templates.py) and parameters, as the carriers require;
    ``body`` is the text rendered in Chinese (what the log sender writes and the console shows). Texts
    queued before templates have none (free text: only the log sender delivers them).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # sms | email
    recipient: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(40))  # an SMS template key; None for e-mail
    params: Mapped[dict[str, str] | None] = mapped_column(JsonType)  # the template's parameters
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)  # an OutboxStatus
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
