"""Creating people and finding them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from app.clock import Clock
from app.extensions import db
from app.models import Department, Role, User
from app.models.users import user_departments, user_roles
from app.services.auth import hash_password
from app.services.errors import ConflictError, InvalidRequestError


def create_user(username: str, *, password: str, roles: Iterable[str], clock: Clock,
                departments: Iterable[str] = (), display_name: str | None = None) -> User:
    """Create an active user; raise InvalidRequestError for an unknown role or department."""
    if db.session.scalars(select(User).where(User.username == username)).first() is not None:
        raise ConflictError(f"user {username} already exists")
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password),
                is_active=True, created_at=clock.now())
    user.roles = _lookup(Role, roles, "role")
    user.departments = _lookup(Department, departments, "department")
    db.session.add(user)
    db.session.commit()
    return user


def _lookup(model: type[Role] | type[Department], keys: Iterable[str], what: str) -> list[Any]:
    wanted = list(dict.fromkeys(keys))
    rows: Iterable[Any] = db.session.scalars(select(model).where(model.key.in_(wanted)))
    found = {row.key: row for row in rows}
    unknown = [key for key in wanted if key not in found]
    if unknown:
        raise InvalidRequestError(f"unknown {what}: {', '.join(unknown)}")
    return [found[key] for key in wanted]


def find_user(username: str) -> User | None:
    return db.session.scalars(select(User).where(User.username == username)).first()


def role_names() -> dict[str, str]:
    """Every name a lane may use for a role (its key and its Chinese name) -> the role key."""
    names: dict[str, str] = {}
    for role in db.session.scalars(select(Role)):
        names[role.key] = role.key
        names[role.name_zh] = role.key
    return names


def people_with_role(role: str, *, department: str | None = None) -> list[tuple[str, str]]:
    """Active users holding ``role`` (and ``department`` when given), as (username, name), by name."""
    query = (select(User.username, User.display_name).join(user_roles, user_roles.c.user_id == User.id)
             .where(user_roles.c.role_key == role, User.is_active.is_(True)).order_by(User.display_name))
    if department:
        query = query.join(user_departments, user_departments.c.user_id == User.id).where(
            user_departments.c.department_key == department)
    return [(username, name) for username, name in db.session.execute(query)]
