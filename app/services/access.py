"""Who may do what: the role rules in one place."""

from __future__ import annotations

from collections.abc import Iterable

from app.models import HumanTask, User

SUPERVISOR_ROLES = frozenset({"cs_supervisor", "eng_supervisor", "property_manager"})
DESIGNER_ROLES = frozenset({"designer", "admin"})


def may_act_on_task(user: User, task: HumanTask) -> bool:
    """Admins, the named assignee, or a holder of the task's role (and department, when it has one)."""
    if user.is_admin:
        return True
    if task.assignee is not None:
        return task.assignee == user.username
    if task.role not in user.role_keys:
        return False
    return task.department is None or task.department in user.department_keys


def may_start(user: User, start_roles: Iterable[str]) -> bool:
    return user.is_admin or bool(user.role_keys & set(start_roles))


def may_deploy(user: User) -> bool:
    return bool(user.role_keys & DESIGNER_ROLES)


def is_supervisor(user: User) -> bool:
    return user.is_admin or bool(user.role_keys & SUPERVISOR_ROLES)
