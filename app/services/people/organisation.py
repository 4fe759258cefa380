"""Projects (楼盘), their units, and which projects a user works on (limited users see nothing of the others)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, insert, select

from app.extensions import db
from app.models import Department, Project, Unit, user_projects
from app.services.access import Actor
from app.services.errors import ConflictError, InvalidFormError, Message, NotFoundError, msg


def visible_projects(user: Actor) -> set[str] | None:
    """The projects a user is limited to, or None when they see every project.

    A request's ``Principal`` carries them (read with its roles, in the request's one authentication query);
    for anyone else (a ``User`` row: the worker, the CLI) they are read here.
    """
    known: frozenset[str] | None = getattr(user, "project_keys", None)
    if known is not None:
        return set(known) or None
    keys = set(db.session.scalars(select(user_projects.c.project_key).where(user_projects.c.user_id == user.id)))
    return keys or None


def ticket_project_hidden(project_key: str | None, user: Actor) -> bool:
    """True when the user is limited to other projects than this ticket's (they must not see it at all)."""
    if project_key is None:
        return False
    allowed = visible_projects(user)
    return allowed is not None and project_key not in allowed


def create_project(key: str, name: str, *, city: str | None = None) -> Project:
    project = Project(key=key, name=name, city=city)
    db.session.add(project)
    db.session.commit()
    return project


def create_unit(project_key: str, code: str, *, owner_name: str | None = None, owner_phone: str | None = None,
                handover_date: date | None = None, is_common_area: bool = False, owner_email: str | None = None,
                contract_end_date: date | None = None) -> Unit:
    building, _, room = code.partition("-")
    unit = Unit(project_key=project_key, code=code, building=building or None, room=room or None,
                owner_name=owner_name, owner_phone=owner_phone, handover_date=handover_date,
                is_common_area=is_common_area, owner_email=owner_email, contract_end_date=contract_end_date)
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


# --- managing the organisation (the admin console) -----------------------------------------------------

KEY_PATTERN = re.compile(r"[a-z0-9_-]{1,40}")


@dataclass(frozen=True)
class ProjectRow:
    key: str
    name: str
    city: str | None
    units: int


def list_departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.key)))


def save_department(key: str, *, name_zh: str, name_en: str, new: bool) -> Department:
    """Create (``new``) or rename a department; raise InvalidRequest, Conflict or NotFound."""
    key = key.strip()
    errors = _key_errors(key) | _name_errors("name_zh", name_zh, 40) | _name_errors("name_en", name_en, 80)
    if errors:
        raise InvalidFormError(msg("please correct the marked fields"), errors=errors)
    department = db.session.get(Department, key)
    if new and department is not None:
        raise ConflictError(msg("department %(key)s already exists", key=key), errors={"key": "already exists"})
    if not new and department is None:
        raise NotFoundError(msg("no department %(key)s", key=key))
    clash = db.session.scalar(select(Department.key).where(Department.name_zh == name_zh.strip(),
                                                           Department.key != key))
    if clash:
        raise ConflictError(msg("the Chinese name is taken by %(clash)s", clash=clash),
                            errors={"name_zh": "already used"})
    department = department or Department(key=key)
    department.name_zh, department.name_en = name_zh.strip(), name_en.strip()
    db.session.add(department)
    db.session.commit()
    return department


def list_projects() -> list[ProjectRow]:
    counts = dict(db.session.execute(select(Unit.project_key, func.count()).group_by(Unit.project_key)).all())
    return [ProjectRow(project.key, project.name, project.city, int(counts.get(project.key, 0)))
            for project in db.session.scalars(select(Project).order_by(Project.key))]


def save_project(key: str, *, name: str, city: str | None, new: bool) -> Project:
    """Create (``new``) or change a project (楼盘); raise InvalidRequest, Conflict or NotFound."""
    key = key.strip()
    errors = _key_errors(key) | _name_errors("name", name, 80)
    if errors:
        raise InvalidFormError(msg("please correct the marked fields"), errors=errors)
    project = db.session.get(Project, key)
    if new and project is not None:
        raise ConflictError(msg("project %(key)s already exists", key=key), errors={"key": "already exists"})
    if not new and project is None:
        raise NotFoundError(msg("no project %(key)s", key=key))
    project = project or Project(key=key)
    project.name, project.city = name.strip(), (city or "").strip() or None
    db.session.add(project)
    db.session.commit()
    return project


def get_project(key: str) -> Project:
    project = db.session.get(Project, key)
    if project is None:
        raise NotFoundError(msg("no project %(key)s", key=key))
    return project


def units_of(project_key: str, *, search: str | None = None, limit: int = 200) -> list[Unit]:
    """A project's units by code; ``search`` matches the start of the code, the owner or the phone."""
    query = select(Unit).where(Unit.project_key == project_key).order_by(Unit.code).limit(limit)
    text = (search or "").replace("\x00", "").strip()
    if text:
        query = query.where(Unit.code.startswith(text, autoescape=True)
                            | Unit.owner_name.startswith(text, autoescape=True) | (Unit.owner_phone == text))
    return list(db.session.scalars(query))


def add_unit(project_key: str, code: str, *, owner_name: str | None, owner_phone: str | None,
             handover_date: date | None, is_common_area: bool, owner_email: str | None = None,
             contract_end_date: date | None = None) -> Unit:
    """Add a unit (building-room, or a common area); raise InvalidRequest, Conflict or NotFound."""
    get_project(project_key)
    code = code.strip()
    errors = _name_errors("code", code, 40) | _phone_errors(owner_phone) | _email_errors(owner_email)
    if errors:
        raise InvalidFormError(msg("please correct the marked fields"), errors=errors)
    if db.session.scalar(select(Unit.id).where(Unit.project_key == project_key, Unit.code == code)):
        raise ConflictError(msg("unit %(code)s already exists", code=code), errors={"code": "already exists"})
    return create_unit(project_key, code, owner_name=(owner_name or "").strip() or None,
                       owner_phone=(owner_phone or "").strip() or None, handover_date=handover_date,
                       is_common_area=is_common_area, owner_email=(owner_email or "").strip() or None,
                       contract_end_date=contract_end_date)


def get_unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFoundError(msg("no unit %(unit_id)s", unit_id=unit_id))
    return unit


def update_unit(unit_id: int, *, owner_name: str | None, owner_phone: str | None, handover_date: date | None,
                is_common_area: bool, owner_email: str | None, contract_end_date: date | None) -> Unit:
    """Change a unit's owner, phone, e-mail, handover date, contract end or common-area mark; raise
    NotFound/InvalidRequest."""
    unit = get_unit(unit_id)
    errors = _phone_errors(owner_phone) | _email_errors(owner_email)
    if errors:
        raise InvalidFormError(msg("please correct the marked fields"), errors=errors)
    unit.owner_name = (owner_name or "").strip() or None
    unit.owner_phone = (owner_phone or "").strip() or None
    unit.owner_email = (owner_email or "").strip() or None
    unit.handover_date, unit.is_common_area = handover_date, is_common_area
    unit.contract_end_date = contract_end_date
    db.session.commit()
    return unit


def _key_errors(key: str) -> dict[str, Message]:
    if not KEY_PATTERN.fullmatch(key):
        return {"key": msg("1–40 lower-case letters, digits, _ -")}
    return {}


def _name_errors(field: str, value: str, limit: int) -> dict[str, Message]:
    if not value.strip() or len(value.strip()) > limit or "\x00" in value:
        return {field: msg("required, at most %(limit)s characters", limit=limit)}
    return {}


def is_email_address(text: str) -> bool:
    """Whether ``text`` reads as one e-mail address that fits a unit's column (120 characters)."""
    return len(text) <= 120 and re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+", text) is not None


def _email_errors(email: str | None) -> dict[str, Message]:
    text = (email or "").strip()
    if text and not is_email_address(text):
        return {"owner_email": msg("not an e-mail address")}
    return {}


def _phone_errors(phone: str | None) -> dict[str, Message]:
    if phone and not re.fullmatch(r"[0-9+\- ]{5,20}", phone.strip()):
        return {"owner_phone": msg("not a phone number")}
    return {}
