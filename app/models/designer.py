"""The designer's drafts: files being edited in the browser, not yet deployed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.types import UTCDateTime
from app.models.users import User


class DesignerDraft(Base):
    """The working copy of one definition file (BPMN, DMN or form), shared by the designers.

    Deploying the drafts turns them into bundle versions and deletes them; until then the
    deployed versions are untouched.
    """

    __tablename__ = "designer_drafts"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # the file name, e.g. complaint.bpmn
    content: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[User | None] = relationship()
