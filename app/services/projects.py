"""Which projects (楼盘) a user works on: users limited to some projects see nothing of the others."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import user_projects
from app.services.access import Actor


def visible_projects(user: Actor) -> set[str] | None:
    """The projects a user is limited to, or None when they see every project."""
    keys = set(db.session.scalars(select(user_projects.c.project_key).where(user_projects.c.user_id == user.id)))
    return keys or None


def ticket_project_hidden(project_key: str | None, user: Actor) -> bool:
    """True when the user is limited to other projects than this ticket's (they must not see it at all)."""
    if project_key is None:
        return False
    allowed = visible_projects(user)
    return allowed is not None and project_key not in allowed
