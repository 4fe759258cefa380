"""Whom a form's people picker (``"x-widget": "user"``) offers, and the check that a submission chose one of them.

Normally the active holders of the field's role in the task's department. When that department has none
(an owner-paid repair when the property side has no technician), the picker says why and offers the
holders of the role in every department, grouped by department, and the department's own owner
(``dept_owner``), so the task can always go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import User, user_projects
from app.models.users import user_departments, user_roles
from app.services.errors import Bilingual, InvalidFormError, Text, msg
from app.services.work.staffing import DEPARTMENT_NAMES, ROLE_NAMES, Unstaffed

OWNER_ROLE = "dept_owner"


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class PeopleChoice:
    """What one picker offers: ``people`` flat, or ``groups`` ("部门 / Department", people) when widened."""

    role: str
    people: list[tuple[str, str]]
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    unstaffed: Unstaffed | None = None  # why the list is wider than the department (or empty)

    @property
    def usernames(self) -> set[str]:
        return {username for username, _ in self.people} | {
            username for _, people in self.groups for username, _ in people}


def people_to_pick(role: str, *, department: str | None, project_key: str | None) -> PeopleChoice:
    """The people a picker of ``role`` offers on a task of ``department`` in ``project_key``."""
    holders = _active_holders((role, OWNER_ROLE), project_key)
    of_role = holders.get(role, [])
    here = [p for p in of_role if department is None or department in p.departments]
    if here:
        return PeopleChoice(role, [(p.username, p.name) for p in here])
    unstaffed = Unstaffed("nobody", role, department, picker=True)
    if department is None:
        return PeopleChoice(role, [], unstaffed=unstaffed)
    groups = _by_department(of_role, role)
    owners = [(p.username, p.name) for p in holders.get(OWNER_ROLE, []) if department in p.departments]
    if owners and role != OWNER_ROLE:
        groups.append((_group_label(_dept_name(department), ROLE_NAMES[OWNER_ROLE]), owners))
    return PeopleChoice(role, [], groups, unstaffed)


def _by_department(people: Iterable[Person], role: str) -> list[tuple[str, list[tuple[str, str]]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for person in people:
        home = person.departments[0] if person.departments else ""
        grouped.setdefault(home, []).append((person.username, person.name))
    role_name = ROLE_NAMES.get(role, f"{role} / {role}")
    return [(_group_label(_dept_name(dept) if dept else "未分部门 / no department", role_name), grouped[dept])
            for dept in sorted(grouped)]


def _group_label(department: str, role: str) -> str:
    """"物业 · 维修人员 / property · technician" from two "中文 / English" names."""
    (dept_zh, _, dept_en), (role_zh, _, role_en) = department.partition(" / "), role.partition(" / ")
    return f"{dept_zh} · {role_zh} / {dept_en} · {role_en}"


def _dept_name(department: str) -> str:
    return DEPARTMENT_NAMES.get(department, f"{department} / {department}")


def _active_holders(roles: tuple[str, ...], project_key: str | None) -> dict[str, list[Person]]:
    """Active users holding each of ``roles`` who may see ``project_key``, by name (two queries)."""
    rows = db.session.execute(
        select(User.id, User.username, User.display_name, user_roles.c.role_key)
        .join(user_roles, user_roles.c.user_id == User.id)
        .where(user_roles.c.role_key.in_(roles), User.is_active.is_(True)).order_by(User.display_name)).all()
    ids = {row.id for row in rows}
    departments: dict[int, list[str]] = {}
    limits: dict[int, set[str]] = {}
    if ids:
        for user_id, key in db.session.execute(select(user_departments.c.user_id, user_departments.c.department_key)
                                               .where(user_departments.c.user_id.in_(ids))
                                               .order_by(user_departments.c.department_key)):
            departments.setdefault(user_id, []).append(key)
        if project_key is not None:
            for user_id, key in db.session.execute(select(user_projects.c.user_id, user_projects.c.project_key)
                                                   .where(user_projects.c.user_id.in_(ids))):
                limits.setdefault(user_id, set()).add(key)
    holders: dict[str, list[Person]] = {}
    for row in rows:
        if project_key is not None and row.id in limits and project_key not in limits[row.id]:
            continue
        holders.setdefault(row.role_key, []).append(
            Person(row.username, row.display_name, tuple(departments.get(row.id, ()))))
    return holders


def picker_fields(form: Mapping[str, Any] | None) -> dict[str, str]:
    """The form's people pickers: field name -> role."""
    return {name: str(spec["x-role"]) for name, spec in ((form or {}).get("properties") or {}).items()
            if spec.get("x-widget") == "user" and spec.get("x-role") and not spec.get("readOnly")}


def pickers_of(form: Mapping[str, Any] | None, *, department: str | None,
               project_key: str | None) -> dict[str, PeopleChoice]:
    """What each people picker of the form offers on a task of ``department`` in ``project_key``."""
    return {name: people_to_pick(role, department=department, project_key=project_key)
            for name, role in picker_fields(form).items()}


def check_people_chosen(form: Mapping[str, Any] | None, data: Mapping[str, Any], *, department: str | None,
                        project_key: str | None) -> None:
    """Every picked person is one the picker offers; else a 422 naming the field and why.

    :raise InvalidFormError: a username that is not an active person the picker offers.
    """
    errors = {}
    for name, role in picker_fields(form).items():
        value = data.get(name)
        if not isinstance(value, str):
            continue
        choice = people_to_pick(role, department=department, project_key=project_key)
        if value not in choice.usernames:
            errors[name] = _refusal(value, choice)
    if errors:
        raise InvalidFormError(msg("choose one of the people offered"), errors=errors)


def _refusal(value: str, choice: PeopleChoice) -> Text:
    role = ROLE_NAMES.get(choice.role, choice.role)
    if not choice.usernames:
        reason = choice.unstaffed.reason() if choice.unstaffed else ""
        return msg("nobody to choose (%(reason)s)", reason=reason)
    return msg("%(value)s is not a %(role)s you may choose", value=value, role=Bilingual(role))
