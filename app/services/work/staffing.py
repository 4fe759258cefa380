"""Every task has someone who can do it: who stands in when a lane has nobody, and why nobody can.

A task's candidates are the active users who may act on it: the named assignee, or the holders of its
lane role (in its department, when it has one) who may see its project (``TASK_PROJECT``: its ticket's, else
its instance's). Admins are not counted.
When there are none, the task goes to the supervisor of its lane as well, marked "无人可处理" with the
reason. The check is one uncorrelated subquery (who is staffed where, a few hundred rows at most) that
the database hashes once per query, so the inbox keeps its query count and its plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)

from app.extensions import db
from app.models import ACTIVE_STATUSES, ProcessInstance, Ticket, User, user_projects
from app.models.users import user_departments, user_roles
from app.services.access import Actor, TaskLike, may_act_on_task
from app.services.errors import Bilingual, Text, msg
from app.services.steps.write import TASK_IS_OPEN, TASKS

# Who stands in for a lane that has nobody: defined here and nowhere else.
LANE_SUPERVISORS: dict[str, str] = {
    "technician": "eng_supervisor",
    "dept_owner": "dept_head",
    "cs_agent": "cs_supervisor",
    "night_security": "cs_supervisor",
    "dept_head": "property_manager",
    "eng_supervisor": "property_manager",
    "cs_supervisor": "property_manager",
    "property_manager": "admin",
    "designer": "admin",
}

ROLE_NAMES: dict[str, str] = {
    "cs_agent": "客服专员 / customer-service agent", "night_security": "中控室保安 / night security",
    "cs_supervisor": "客服主管 / CS supervisor", "dept_owner": "责任端口负责人 / department owner",
    "dept_head": "部门领导 / department head", "eng_supervisor": "工程部主管 / engineering supervisor",
    "technician": "维修人员 / technician", "property_manager": "物业经理 / property manager",
    "designer": "流程设计 / process designer", "admin": "管理员 / administrator",
}
DEPARTMENT_NAMES: dict[str, str] = {
    "engineering": "工程部 / engineering", "design": "设计部 / design", "sales": "营销部 / sales",
    "property": "物业 / property", "service": "生活服务部 / life services",
}
ANY_PROJECT = "*"  # a user limited to no project
NO_PROJECT = ""  # a ticket without a project: every holder of the role may act on it

TICKETS = Ticket.__table__
USERS = User.__table__
INSTANCES = ProcessInstance.__table__
# A task's project: its ticket's, else its instance's (a planned callback, a notice, a handover has no ticket;
# its instance keeps the project it was started for). A query reading it joins both (``with_projects``).
TASK_PROJECT = func.coalesce(TICKETS.c.project_key, INSTANCES.c.project_key)


def with_projects(tasks: Any) -> Any:
    """``tasks`` (the task index, perhaps joined already) joined with what ``TASK_PROJECT`` is read from."""
    return (tasks.join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
            .outerjoin(TICKETS, TICKETS.c.instance_id == TASKS.c.instance_id))


def in_projects(allowed: set[str] | None) -> ColumnElement[bool]:
    """Tasks of no project or of one of ``allowed`` (``visible_projects``; None: every task)."""
    if allowed is None:
        return true()
    return or_(TASK_PROJECT.is_(None), TASK_PROJECT.in_(allowed))


def supervisor_of(role: str | None) -> str | None:
    return LANE_SUPERVISORS.get(role or "")


def supervised_roles(user: Actor) -> frozenset[str]:
    """The lane roles this user stands in for when they have nobody."""
    return frozenset(role for role, supervisor in LANE_SUPERVISORS.items() if supervisor in user.role_keys)


# --- who is staffed where (SQL) -------------------------------------------------------------------------------

def _projects_of_users() -> Any:
    """(user_id, project): each user's projects, ``*`` for a user limited to none, and ``""`` for everyone."""
    limited = select(user_projects.c.user_id)
    return union_all(
        select(user_projects.c.user_id, user_projects.c.project_key.label("project")),
        select(USERS.c.id, literal(ANY_PROJECT, String)).where(USERS.c.id.not_in(limited)),
        select(USERS.c.id, literal(NO_PROJECT, String)),
    ).subquery("user_project")


def _staffed() -> Any:
    """(who, department, project) for every active user: ``who`` is a role key or ``@username``."""
    places = union_all(
        select(user_roles.c.user_id, user_roles.c.role_key.label("who"),
               user_departments.c.department_key.label("department"))
        .join(user_departments, user_departments.c.user_id == user_roles.c.user_id),
        select(user_roles.c.user_id, user_roles.c.role_key, literal("", String)),
        select(USERS.c.id, literal("@", String) + USERS.c.username, literal("", String)),
    ).subquery("place")
    projects = _projects_of_users()
    return (select(places.c.who, places.c.department, projects.c.project)
            .join(projects, projects.c.user_id == places.c.user_id)
            .join(USERS, USERS.c.id == places.c.user_id)
            .where(USERS.c.is_active.is_(True), places.c.who != "admin"))


def _task_key(project: ColumnElement[Any]) -> Any:
    who = case((TASKS.c.assignee.is_not(None), literal("@", String) + TASKS.c.assignee), else_=TASKS.c.role)
    department = case((TASKS.c.assignee.is_not(None), literal("", String)),
                      else_=func.coalesce(TASKS.c.department, ""))
    return tuple_(who, department, project)


# The two expressions below are built once: building them (subqueries, their column collections) cost more CPU
# than running the query that holds them. SQL expressions are immutable, so every query may share them.
@cache
def unstaffed_condition() -> ColumnElement[bool]:
    """True for a task row (``with_projects``) that no active user may act on."""
    staffed = _staffed()
    return and_(_task_key(func.coalesce(TASK_PROJECT, NO_PROJECT)).not_in(staffed),
                _task_key(literal(ANY_PROJECT, String)).not_in(staffed))


@cache
def unstaffed_reason_column() -> Any:
    """``None`` when someone may act on the task, ``"project"`` when holders exist but none may see its
    project, else ``"nobody"``."""
    staffed = _staffed()
    has_candidate = or_(_task_key(func.coalesce(TASK_PROJECT, NO_PROJECT)).in_(staffed),
                        _task_key(literal(ANY_PROJECT, String)).in_(staffed))
    return case((TASKS.c.role.is_(None), None), (has_candidate, None),
                (_task_key(literal(NO_PROJECT, String)).in_(staffed), "project"), else_="nobody")


def staffed_roles_column() -> Any:
    """The role keys with an active holder in the task's department who may see its project ("," joined)."""
    staffed = _staffed().subquery("staffed")
    project = func.coalesce(TASK_PROJECT, NO_PROJECT)
    return (select(func.aggregate_strings(staffed.c.who, ","))
            .where(staffed.c.department == func.coalesce(TASKS.c.department, ""),
                   or_(staffed.c.project == project, staffed.c.project == ANY_PROJECT),
                   ~staffed.c.who.startswith("@"))
            .scalar_subquery())


def stand_in_scope(user: Actor) -> ColumnElement[bool]:
    """Unclaimed tasks of the lanes this user supervises that nobody else may do."""
    roles = supervised_roles(user)
    if not roles:
        return false()
    return and_(TASKS.c.claimed_by_id.is_(None), TASKS.c.role.in_(roles), unstaffed_condition())


# --- one task ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unstaffed:
    """Why nobody can do a task (or the next step a task's form picks a person for)."""

    kind: str  # nobody | project | assignee
    role: str | None
    department: str | None
    assignee: str | None = None
    project_key: str | None = None
    picker: bool = False  # the task has people, but the person its form picks has nobody to be

    def reason(self) -> Text:
        """The reason, a message whose role and department names are "中文 / English" labels."""
        role = Bilingual(ROLE_NAMES.get(self.role or "", self.role or ""))
        if self.kind == "assignee":
            return msg("the named assignee %(assignee)s does not exist or is inactive", assignee=self.assignee)
        if self.kind == "project":
            return msg("no %(role)s with access to project %(project)s", role=role, project=self.project_key)
        if self.department:
            department = Bilingual(DEPARTMENT_NAMES.get(self.department, self.department))
            return msg("no %(role)s in department %(department)s", role=role, department=department)
        return msg("nobody active holds the role %(role)s", role=role)


def unstaffed_of(task: TaskLike, reason_code: str | None, project_key: str | None) -> Unstaffed | None:
    """The reason for a task row read with ``unstaffed_reason_column``."""
    if reason_code is None:
        return None
    if task.assignee is not None:
        return Unstaffed("assignee" if reason_code == "nobody" else "project", task.role, None, task.assignee,
                         project_key)
    return Unstaffed(reason_code, task.role, task.department, None, project_key)


class TaskRow(TaskLike, Protocol):
    @property
    def id(self) -> str: ...


@cache
def _why_unstaffed_query() -> Any:
    return (select(unstaffed_reason_column()).select_from(with_projects(TASKS))
            .where(TASKS.c.id == bindparam("task_id")))


def why_unstaffed(task: TaskRow, project_key: str | None) -> Unstaffed | None:
    """Whether anyone may act on this one task (one query); None when someone may."""
    code = db.session.connection().execute(_why_unstaffed_query(), {"task_id": task.id}).scalar()
    return unstaffed_of(task, code, project_key)


NOT_READ = object()  # the reason was not read with the task: ``may_stand_in`` asks the database


def may_stand_in(user: Actor, task: TaskRow, project_key: str | None, *, reason_code: Any = NOT_READ) -> bool:
    """A supervisor of the task's lane (or an admin) may do a task nobody else may do.

    ``reason_code``: the task's ``unstaffed_reason_column``, when it was read with the task (no query then).
    """
    if supervisor_of(task.role) not in user.role_keys:
        return False
    if reason_code is not NOT_READ:
        return unstaffed_of(task, reason_code, project_key) is not None
    return why_unstaffed(task, project_key) is not None


def may_act_or_stand_in(user: Actor, task: TaskRow, project_key: str | None, *, reason_code: Any = NOT_READ) -> bool:
    return may_act_on_task(user, task) or may_stand_in(user, task, project_key, reason_code=reason_code)


# --- the admin console's list --------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnstaffedTask:
    task_id: str
    instance_id: int
    title: str
    ticket_number: str | None
    project_key: str | None
    created_at: Any
    due_at: Any
    unstaffed: Unstaffed


UNSTAFFED_LIST_LIMIT = 500


def unstaffed_tasks(*, visible: set[str] | None = None, limit: int = UNSTAFFED_LIST_LIMIT) -> list[UnstaffedTask]:
    """Open, unclaimed tasks of active instances that no active user may do, oldest first.

    ``visible``: the projects the reader is limited to (None: every project).
    """
    query = (select(TASKS.c.id, TASKS.c.instance_id, TASKS.c.title, TASKS.c.role, TASKS.c.department,
                    TASKS.c.assignee, TASKS.c.created_at, TASKS.c.due_at, TICKETS.c.number,
                    TASK_PROJECT.label("project_key"), unstaffed_reason_column().label("reason"))
             .select_from(with_projects(TASKS))
             .where(TASK_IS_OPEN, TASKS.c.claimed_by_id.is_(None),
                    INSTANCES.c.status.in_(ACTIVE_STATUSES), unstaffed_condition(), in_projects(visible))
             .order_by(TASKS.c.created_at, TASKS.c.id).limit(limit))
    found = []
    for row in db.session.execute(query):
        reason = unstaffed_of(row, row.reason, row.project_key)
        if reason is not None:
            found.append(UnstaffedTask(row.id, row.instance_id, row.title, row.number, row.project_key,
                                       row.created_at, row.due_at, reason))
    return found
