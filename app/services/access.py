"""Who may do what: the role rules in one place."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Actor(Protocol):
    """Anyone who acts: a ``User`` row or an authenticated ``Principal``."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def role_keys(self) -> frozenset[str]: ...
    @property
    def department_keys(self) -> frozenset[str]: ...
    @property
    def is_admin(self) -> bool: ...


class TaskLike(Protocol):
    @property
    def role(self) -> str | None: ...
    @property
    def department(self) -> str | None: ...
    @property
    def assignee(self) -> str | None: ...

SUPERVISOR_ROLES = frozenset({"cs_supervisor", "eng_supervisor", "property_manager"})
DESIGNER_ROLES = frozenset({"designer", "admin"})


def may_act_on_task(user: Actor, task: TaskLike) -> bool:
    """Admins, the named assignee, or a holder of the task's role (and department, when it has one)."""
    if user.is_admin:
        return True
    if task.assignee is not None:
        return task.assignee == user.username
    if task.role not in user.role_keys:
        return False
    return task.department is None or task.department in user.department_keys


def may_start(user: Actor, start_roles: Iterable[str]) -> bool:
    return user.is_admin or bool(user.role_keys & set(start_roles))


def may_record_calls(user: Actor, start_roles: Iterable[str]) -> bool:
    """Recording a call, a new ticket or a repeated call on one, is for those who may start its reception."""
    return may_start(user, start_roles)


def may_deploy(user: Actor) -> bool:
    return bool(user.role_keys & DESIGNER_ROLES)


def is_supervisor(user: Actor) -> bool:
    return user.is_admin or bool(user.role_keys & SUPERVISOR_ROLES)


ADMIN_ROLES = frozenset({"admin"})
# Managers read the figures and follow instances in the admin console; only admins repair and configure.
MANAGER_ROLES = frozenset({"admin", "property_manager", "dept_head", "cs_supervisor"})


def may_manage(user: Actor) -> bool:
    """The admin console's reading side: instances, definitions, figures, reports, unstaffed tasks."""
    return bool(user.role_keys & MANAGER_ROLES)


def may_administer(user: Actor) -> bool:
    """Repairs, people, organisation, settings, the working calendar and the personal-data log."""
    return bool(user.role_keys & ADMIN_ROLES)


# The CS supervisor and those above watch the wallboard and check the front desk; they write its answers.
WALLBOARD_ROLES = frozenset({"admin", "cs_supervisor", "property_manager", "dept_head"})
KNOWLEDGE_EDITORS = frozenset({"admin", "cs_supervisor", "property_manager"})


def may_watch_wallboard(user: Actor) -> bool:
    """The supervisor's wallboard and the daily reception log with its check (每日业户接待情况表)."""
    return user.is_admin or bool(user.role_keys & WALLBOARD_ROLES)


def may_edit_knowledge(user: Actor) -> bool:
    """Writing the knowledge base's answers and the quick replies (reading them is for every staff member)."""
    return user.is_admin or bool(user.role_keys & KNOWLEDGE_EDITORS)


WAIT_ACTION_ROLES = frozenset({"cs_supervisor"})


def may_act_on_waits(user: Actor) -> bool:
    """Dispatching a night call now, calling back now, ending a pause: the CS supervisor (and admins)."""
    return user.is_admin or bool(user.role_keys & WAIT_ACTION_ROLES)
