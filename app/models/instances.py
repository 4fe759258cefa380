"""Process instances, the human-task index and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.definitions import Bundle
from app.models.states import HumanTaskState
from app.models.types import JsonType, UTCDateTime
from app.models.users import User


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_status_started", "status", "started_at"),
        Index("ix_process_instances_process_status", "process_id", "status"),
        Index("ix_process_instances_next_timer", "next_timer_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    process_id: Mapped[str] = mapped_column(String(120))
    spec_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # an InstanceStatus
    state: Mapped[str] = mapped_column(Text)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lock_version: Mapped[int] = mapped_column(default=1)
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The project it was started for (its start data's ``project``): who may see and do the tasks of an
    # instance without a ticket (planned callbacks, notices, handovers). None: every project's staff.
    project_key: Mapped[str | None] = mapped_column(String(40))

    bundle: Mapped[Bundle] = relationship(lazy="raise_on_sql")
    started_by: Mapped[User | None] = relationship(lazy="raise_on_sql")

    # Optimistic locking: every UPDATE checks and bumps lock_version, so two concurrent steps
    # on one instance cannot both commit (the loser's UPDATE matches no row -> 409).
    # Not a ClassVar: DeclarativeBase declares it as an attribute; SQLAlchemy copies it once at mapping.
    __mapper_args__: Any = {"version_id_col": lock_version, "version_id_generator": False}  # noqa: RUF012


class HumanTask(Base):
    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_state_role", "state", "role", "due_at"),
        Index("ix_human_tasks_state_assignee", "state", "assignee"),
        Index("ix_human_tasks_claimed_state", "claimed_by_id", "state"),
        Index("ix_human_tasks_instance_state", "instance_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    process_id: Mapped[str] = mapped_column(String(120))
    element_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(40))
    assignee: Mapped[str | None] = mapped_column(String(80))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default=HumanTaskState.OPEN)  # a HumanTaskState
    form_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    instance: Mapped[ProcessInstance] = relationship(lazy="raise_on_sql")
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id], lazy="raise_on_sql")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    actor: Mapped[User | None] = relationship(lazy="raise_on_sql")
    instance: Mapped[ProcessInstance | None] = relationship(lazy="raise_on_sql")
