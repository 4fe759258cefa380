"""Projects (楼盘), their units, and which projects a user works on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, insert, select

from app.extensions import db
from app.models import Project, Unit, user_projects
from app.services.access import Actor
from app.services.projects import visible_projects


def create_project(key: str, name: str, *, city: str | None = None) -> Project:
    project = Project(key=key, name=name, city=city)
    db.session.add(project)
    db.session.commit()
    return project


def create_unit(project_key: str, code: str, *, owner_name: str | None = None, owner_phone: str | None = None,
                handover_date: date | None = None, is_common_area: bool = False) -> Unit:
    building, _, room = code.partition("-")
    unit = Unit(project_key=project_key, code=code, building=building or None, room=room or None,
                owner_name=owner_name, owner_phone=owner_phone, handover_date=handover_date,
                is_common_area=is_common_area)
    db.session.add(unit)
    db.session.commit()
    return unit


def limit_user_to_projects(user_id: int, project_keys: Iterable[str]) -> None:
    """From now on the user sees only these projects' tickets (no projects: every project)."""
    db.session.execute(delete(user_projects).where(user_projects.c.user_id == user_id))
    keys = list(dict.fromkeys(project_keys))
    if keys:
        db.session.execute(insert(user_projects), [{"user_id": user_id, "project_key": key} for key in keys])
    db.session.commit()


def projects_for(user: Actor) -> list[Project]:
    """The projects a user works on (all of them when the user is not limited)."""
    query = select(Project).order_by(Project.key)
    allowed = visible_projects(user)
    if allowed is not None:
        query = query.where(Project.key.in_(allowed))
    return list(db.session.scalars(query))


def find_units(project_key: str, text: str, *, user: Actor, limit: int = 20) -> list[Unit]:
    """Units of a project whose code or owner starts with what the agent typed (lookup as you type)."""
    allowed = visible_projects(user)
    if allowed is not None and project_key not in allowed:
        return []
    typed = text.strip()
    if "\x00" in typed or "\x00" in project_key:
        return []  # nothing holds a NUL byte, and PostgreSQL refuses to compare one
    return list(db.session.scalars(
        select(Unit).where(Unit.project_key == project_key)
        .where(Unit.code.startswith(typed, autoescape=True) | Unit.owner_name.startswith(typed, autoescape=True)
               | (Unit.owner_phone == typed))
        .order_by(Unit.code).limit(limit)
    ))
