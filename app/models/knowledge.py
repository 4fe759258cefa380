"""What the front desk knows and checks: answers to common questions (知识库), quick replies (常用话术),
and the CS supervisor's daily check of the reception log (每日业户接待情况表)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import JsonType, UTCDateTime


class KnowledgeAnswer(Base):
    """An answer to a consultation (物业费怎么交, 装修申请…), found by its keywords as the agent types."""

    __tablename__ = "knowledge_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    keywords: Mapped[str] = mapped_column(String(400), default="")  # words separated by commas or spaces
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40), default="")
    project_keys: Mapped[list[str]] = mapped_column(JsonType, default=list)  # empty: every project
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class QuickReply(Base):
    """A short text an agent inserts into a note or a text to an owner."""

    __tablename__ = "quick_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class FrontDeskCheck(Base):
    """The CS supervisor's check of one day's reception log of one project (每天检查前台接待工作情况)."""

    __tablename__ = "front_desk_checks"
    __table_args__ = (UniqueConstraint("day", "project_key", name="uq_front_desk_checks_day_project"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key"))
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_by_name: Mapped[str] = mapped_column(String(80))  # kept when the user row goes
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(String(1000), default="")
