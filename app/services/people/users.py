"""Creating people and finding them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from app.clock import Clock
from app.extensions import db
from app.models import Department, HumanTask, Project, Role, User, user_projects
from app.models.users import user_departments, user_roles
from app.services.access import Actor
from app.services.errors import ConflictError, InvalidFormError, InvalidRequestError, Message, NotFoundError, msg
from app.services.jobs.notifications import is_mobile_number
from app.services.people.auth import end_sessions_and_tokens, hash_password, password_matches
from app.services.people.login_throttle import forget_failures
from app.services.steps.plan import record_event
from app.services.steps.write import TASK_IS_OPEN


def create_user(username: str, *, password: str, roles: Iterable[str], clock: Clock,
                departments: Iterable[str] = (), display_name: str | None = None, phone: str | None = None) -> User:
    """Create an active user (the CLI, the demo); raise InvalidRequestError for an unknown role or
    department, a bad mobile or a password the policy refuses, ConflictError for a taken name."""
    if db.session.scalars(select(User).where(User.username == username)).first() is not None:
        raise ConflictError(f"user {username} already exists")
    errors = _password_errors(password) | _phone_errors(phone or "")
    if errors:
        raise InvalidRequestError(next(iter(errors.values())), errors=errors)
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password),
                is_active=True, created_at=clock.now(), phone=_phone_value(phone or ""))
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


def display_names() -> dict[str, str]:
    """Username -> the name staff know the person by (the username when no name was given)."""
    rows = db.session.execute(select(User.username, User.display_name))
    return {username: name or username for username, name in rows}


def role_titles() -> dict[str, str]:
    """Role key -> "中文 / English" name, to say who holds an unclaimed task."""
    return {role.key: f"{role.name_zh} / {role.name_en}" for role in db.session.scalars(select(Role))}


def people_with_role(role: str, *, department: str | None = None) -> list[tuple[str, str]]:
    """Active users holding ``role`` (and ``department`` when given), as (username, name), by name."""
    query = (select(User.username, User.display_name).join(user_roles, user_roles.c.user_id == User.id)
             .where(user_roles.c.role_key == role, User.is_active.is_(True)).order_by(User.display_name))
    if department:
        query = query.join(user_departments, user_departments.c.user_id == User.id).where(
            user_departments.c.department_key == department)
    return [(username, name) for username, name in db.session.execute(query)]


# --- managing people (the admin console) ------------------------------------------------------------

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Person:
    """A user as the people list shows them."""

    id: int
    username: str
    display_name: str
    is_active: bool
    roles: list[str]
    departments: list[str]
    projects: list[str]
    phone: str | None = None  # personal data: only admin pages show it


def list_people(*, search: str | None = None) -> list[Person]:
    """Every user (active first, by name), with roles, departments and projects; ``search`` matches name or login."""
    query = select(User).order_by(User.is_active.desc(), User.display_name, User.username)
    text = (search or "").strip()
    if text:
        query = query.where(or_(User.username.contains(text, autoescape=True),
                                User.display_name.contains(text, autoescape=True)))
    users = list(db.session.scalars(query.limit(500)))
    projects: dict[int, list[str]] = {}
    for user_id, project_key in db.session.execute(
            select(user_projects.c.user_id, user_projects.c.project_key).order_by(user_projects.c.project_key)):
        projects.setdefault(user_id, []).append(project_key)
    return [Person(user.id, user.username, user.display_name, user.is_active, sorted(user.role_keys),
                   sorted(user.department_keys), projects.get(user.id, []), user.phone) for user in users]


def get_person(user_id: int) -> Person:
    """Raise NotFoundError when there is no such user."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError(msg("no user %(user_id)s", user_id=user_id))
    projects = list(db.session.scalars(select(user_projects.c.project_key).where(user_projects.c.user_id == user_id)
                                       .order_by(user_projects.c.project_key)))
    return Person(user.id, user.username, user.display_name, user.is_active, sorted(user.role_keys),
                  sorted(user.department_keys), projects, user.phone)


def add_person(username: str, *, display_name: str, password: str, roles: Iterable[str],
               departments: Iterable[str], projects: Iterable[str], clock: Clock, phone: str = "") -> User:
    """Create a user with roles, departments and projects in one transaction; raise InvalidRequest/Conflict."""
    errors = (_person_errors(username=username, display_name=display_name, roles=roles) | _password_errors(password)
              | _phone_errors(phone))
    if errors:
        raise InvalidFormError(msg("please correct the marked fields"), errors=errors)
    if find_user(username.strip()) is not None:
        raise ConflictError(msg("user %(username)s already exists", username=username),
                            errors={"username": "already exists"})
    user = User(username=username.strip(), display_name=display_name.strip(), password_hash=hash_password(password),
                is_active=True, created_at=clock.now(), phone=_phone_value(phone))
    user.roles = _lookup(Role, roles, "role")
    user.departments = _lookup(Department, departments, "department")
    db.session.add(user)
    db.session.flush()
    _set_projects(user.id, projects)
    db.session.commit()
    return user


def update_person(user_id: int, *, display_name: str, roles: Iterable[str], departments: Iterable[str],
                  projects: Iterable[str], phone: str = "") -> None:
    """Change a user's name, roles, departments, projects and mobile together; raise NotFound/InvalidRequest."""
    user = _user(user_id)
    errors = _person_errors(username=user.username, display_name=display_name, roles=roles) | _phone_errors(phone)
    if errors:
        raise InvalidFormError(msg("please correct the marked fields"), errors=errors)
    user.display_name = display_name.strip()
    user.phone = _phone_value(phone)
    user.roles = _lookup(Role, roles, "role")
    user.departments = _lookup(Department, departments, "department")
    _set_projects(user.id, projects)
    db.session.commit()


def reset_password(user_id: int, password: str, *, now: datetime) -> None:
    """An admin sets a new password: the old sessions and API tokens end and a login cool-down is
    lifted. Raise NotFound/InvalidRequest."""
    _set_password(_user(user_id), password, now)


def change_own_password(user_id: int, *, current: str, new: str, now: datetime) -> None:
    """The user changes their own password, which ends their other sessions and their API tokens.

    Raise InvalidRequestError for a wrong current password or a new one the policy refuses.
    """
    user = _user(user_id)
    if not password_matches(user, current):
        raise InvalidRequestError(msg("the current password is wrong"),
                                  errors={"current": msg("the current password is wrong")})
    _set_password(user, new, now)


def unlock_login(user_id: int) -> None:
    """Lift the login cool-down of a user's name from every address (the admin's unlock)."""
    forget_failures(_user(user_id).username)
    db.session.commit()


def _set_password(user: User, password: str, now: datetime) -> None:
    errors = _password_errors(password)
    if errors:
        raise InvalidFormError(errors["password"], errors=errors)
    user.password_hash = hash_password(password)
    forget_failures(user.username)
    end_sessions_and_tokens(user.id, now)
    db.session.commit()


def deactivate_user(user_id: int, *, by: Actor, now: datetime, reason: str = "") -> int:
    """Stop a user from logging in and hand their open tasks (claimed, or assigned to them by name) back
    to the tasks' roles, so nothing waits on someone who has left.

    One transaction: the user, every released task and one audit event per task. Returns how
    many tasks were handed back. Raise NotFound, or Conflict when an admin deactivates themselves.
    """
    user = _user(user_id)
    if user.id == by.id:
        raise ConflictError(msg("you cannot deactivate your own account"))
    held = db.session.execute(select(HumanTask.id, HumanTask.instance_id, HumanTask.role, HumanTask.claimed_by_id)
                              .where(TASK_IS_OPEN, or_(HumanTask.claimed_by_id == user.id,
                                                                    HumanTask.assignee == user.username))).all()
    for task in held:
        record_event(task.instance_id, "task_released", at=now, actor_id=by.id, task_id=task.id,
                     data={"from": user.username, "to_role": task.role, "reason": reason or "user deactivated",
                           "was": "claimed" if task.claimed_by_id == user.id else "assigned"})
    if held:
        ids = [task.id for task in held]
        db.session.execute(update(HumanTask).where(HumanTask.id.in_(ids), HumanTask.claimed_by_id == user.id)
                           .values(claimed_by_id=None))
        db.session.execute(update(HumanTask).where(HumanTask.id.in_(ids), HumanTask.assignee == user.username)
                           .values(assignee=None))
    user.is_active = False
    db.session.commit()
    return len(held)


def reactivate_user(user_id: int) -> None:
    _user(user_id).is_active = True
    db.session.commit()


def all_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.key)))


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError(msg("no user %(user_id)s", user_id=user_id))
    return user


def _phone_errors(phone: str) -> dict[str, Message]:
    """Empty is allowed (no texts for this person); otherwise a mainland mobile, so the alert's text can go."""
    if phone.strip() and not is_mobile_number(phone):
        return {"phone": msg("enter an 11-digit mobile number starting with 1 (+86 optional)")}
    return {}


def _phone_value(phone: str) -> str | None:
    """Stored without the spaces and dashes people type (fits the column: at most +86 and 11 digits)."""
    return re.sub(r"[\s-]", "", phone) or None


def _person_errors(*, username: str, display_name: str, roles: Iterable[str]) -> dict[str, Message]:
    errors: dict[str, Message] = {}
    if not re.fullmatch(r"[A-Za-z0-9_.-]{2,80}", username.strip()):
        errors["username"] = msg("2–80 letters, digits, _ . -")
    if not display_name.strip() or len(display_name.strip()) > 80:
        errors["display_name"] = msg("enter a name (at most 80 characters)")
    if not list(roles):
        errors["roles"] = msg("choose at least one role")
    return errors


def _password_errors(password: str) -> dict[str, Message]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return {"password": msg("the password needs at least %(limit)s characters", limit=MIN_PASSWORD_LENGTH)}
    return {}


def _set_projects(user_id: int, project_keys: Iterable[str]) -> None:
    keys = list(dict.fromkeys(project_keys))
    known = set(db.session.scalars(select(Project.key).where(Project.key.in_(keys))))
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise InvalidRequestError(f"unknown project: {', '.join(unknown)}", errors={"projects": "unknown project"})
    db.session.execute(delete(user_projects).where(user_projects.c.user_id == user_id))
    if keys:
        db.session.execute(insert(user_projects), [{"user_id": user_id, "project_key": key} for key in keys])
