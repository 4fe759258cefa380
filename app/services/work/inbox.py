"""What staff see: their inbox, a ticket's page, a task's page — with ticket facts and the timeline."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, func, or_, select, true
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance, Project, Ticket
from app.services.access import Actor, is_supervisor, may_act_on_task
from app.services.ops.request_context import without_request_id
from app.services.owners.identity import mask_email
from app.services.people.organisation import visible_projects
from app.services.runtime import Runtime
from app.services.steps.plan import (
    TASK_COLUMNS,
    TASKS_WITH_CLAIMER,
    TaskSnapshot,
    open_tasks_of,
    snapshot_of_row,
    task_scope,
)
from app.services.steps.write import INSTANCES, TASK_IS_OPEN, TASKS
from app.services.work.instances import took_part, took_part_in
from app.services.work.people_choice import picker_fields
from app.services.work.staffing import (
    TASK_PROJECT,
    Unstaffed,
    in_projects,
    staffed_roles_column,
    unstaffed_of,
    unstaffed_reason_column,
    with_projects,
)
from app.services.work.tickets import ticket_by_number
from app.services.work.waiting import Wait, wait_of

TICKETS = Ticket.__table__
WAIT_COLUMNS = (TICKETS.c.waiting_for, TICKETS.c.waiting_note, TICKETS.c.waiting_since, TICKETS.c.waiting_until)
PROJECTS = Project.__table__
PROBLEM_CHARACTERS = 120  # the first line of the description an inbox row shows, at most


@dataclass(frozen=True)
class InboxRow:
    task: TaskSnapshot
    ticket_number: str | None
    unit: str | None
    category: str | None
    phone: str | None
    due_at: Any = None  # the task's own deadline, else its ticket's
    unstaffed: Unstaffed | None = None  # nobody may do it (shown to its lane's supervisor), or its picker is empty
    project_name: str | None = None  # "2栋-0701" is in more than one estate
    city: str | None = None
    problem: str | None = None  # the first line of the ticket's description
    appointment_at: Any = None  # the visit agreed with the owner
    emergency: bool = False  # 突发: first in the list, and marked
    overdue: bool = False
    may_see_phone: bool = False  # my own work (``mine``) and ``may_see_phone``'s rule, read from the row alone
    wait: Wait | None = None  # what the ticket waits for (services/work/waiting.py), read with the row
    chase_count: int = 0  # how often the caller chased the ticket (催办): raised in the list and marked


@dataclass(frozen=True)
class TimelineEntry:
    at: Any
    actor: str | None
    actor_username: str | None
    action: str
    task_id: str | None
    data: dict[str, Any] | None
    task_title: str | None = None
    form: dict[str, Any] | None = None  # the JSON Schema the data was submitted with, for its labels


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    open_tasks: list[TaskSnapshot]
    timeline: list[TimelineEntry]
    may_see_phone: bool
    reopened_as: list[str]
    reopened_from: str | None


INBOX_PAGE = 50


def inbox(*, user: Actor, scope: str, category: str | None = None, process_id: str | None = None,
          search: str | None = None, page: int = 1, page_size: int = INBOX_PAGE,
          rt: Runtime | None = None, now: datetime | None = None) -> list[InboxRow]:
    """Open tasks claimed by or assigned to me (``mine``), or unclaimed ones of my roles (``group``), with
    those nobody may do of the lanes I supervise; each row says why nobody may do it (``unstaffed``), or,
    with ``rt``, that the person its form picks has nobody to be.

    Filters: the ticket's category, the flow (process of the task), and free text matching the
    ticket number, the caller's phone or the unit. Sorted by urgency: emergencies (突发) first, then what is
    overdue at ``now`` (the runtime's clock when not given), then by the appointment agreed with the owner,
    else the due time, soonest first; one page of ``page_size`` rows (one more is read, so the caller knows
    whether another page follows).
    """
    now = now if now is not None else (rt.clock.now() if rt is not None else None)
    mine = scope == "mine"
    text = (search or "").strip()
    projects = visible_projects(user)
    # ``mine`` reads only my id and username (parameters): everyone shares its statement.
    query = _inbox_statement(mine, frozenset() if mine else frozenset(user.role_keys),
                             frozenset() if mine else frozenset(user.department_keys),
                             None if projects is None else frozenset(projects), dated=now is not None,
                             category=bool(category), process=bool(process_id), search=bool(text))
    params: dict[str, Any] = {"limit": page_size + 1, "offset": (max(page, 1) - 1) * page_size}
    if mine:
        params.update(user_id=user.id, username=user.username)
    if now is not None:
        params["now"] = now
    if category:
        params["category"] = category
    if process_id:
        params["process_id"] = process_id
    if text:
        params.update(number=text.upper(), phone=text, unit_part=_like_escaped(text))
    rows = db.session.connection().execute(query, params).all()
    return [_inbox_row(user, snapshot_of_row(row), row, rt, now, mine=mine) for row in rows]


class _Asker:
    """A user as a statement sees them: ``id`` and ``username`` are parameters bound at execution, the roles and
    departments are the statement's own."""

    id: Any = bindparam("user_id", type_=Integer)
    username: Any = bindparam("username", type_=String)
    is_admin = False

    def __init__(self, role_keys: frozenset[str], department_keys: frozenset[str]) -> None:
        self.role_keys, self.department_keys = role_keys, department_keys


def _like_escaped(text: str) -> str:
    """``text`` for ``LIKE '%' || :text || '%' ESCAPE '/'`` (what ``contains(..., autoescape=True)`` binds)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


@lru_cache(maxsize=256)
def _inbox_statement(mine: bool, role_keys: frozenset[str], department_keys: frozenset[str],
                     projects: frozenset[str] | None, *, dated: bool, category: bool, process: bool,
                     search: bool) -> Any:
    """The inbox's statement for one shape of request (the scope, the roles, departments and projects it is for,
    which filters are set), built once: what differs between requests of one shape (the user, the moment, the
    filters' values, the page) is bound at execution. Building it costs more CPU than running it, and the same
    statement object executed again reuses its cache key and compiled SQL."""
    due = func.coalesce(TASKS.c.due_at, TICKETS.c.due_at)
    now = bindparam("now", type_=TASKS.c.due_at.type) if dated else None
    query = (select(*TASK_COLUMNS, TICKETS.c.number, TICKETS.c.unit_code, TICKETS.c.category, TICKETS.c.phone,
                    TICKETS.c.due_at.label("ticket_due_at"), TASK_PROJECT.label("project_key"),
                    TICKETS.c.appointment_at,
                    TICKETS.c.emergency, *WAIT_COLUMNS, TICKETS.c.chase_count,
                    func.substr(TICKETS.c.description, 1, PROBLEM_CHARACTERS).label("problem"),
                    PROJECTS.c.name.label("project_name"), PROJECTS.c.city,
                    unstaffed_reason_column().label("unstaffed"), staffed_roles_column().label("staffed_roles"),
                    INSTANCES.c.spec_key)
             .select_from(with_projects(TASKS_WITH_CLAIMER).outerjoin(PROJECTS, PROJECTS.c.key == TASK_PROJECT))
             .where(TASK_IS_OPEN, task_scope("mine" if mine else "group", _Asker(role_keys, department_keys)),
                    in_projects(None if projects is None else set(projects)))
             .order_by(*_urgency_order(due, now), TASKS.c.created_at, TASKS.c.id)
             .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    if category:
        query = query.where(TICKETS.c.category == bindparam("category", type_=String))
    if process:
        query = query.where(TASKS.c.process_id == bindparam("process_id", type_=String))
    if search:
        query = query.where(or_(TICKETS.c.number == bindparam("number", type_=String),
                                TICKETS.c.phone == bindparam("phone", type_=String),
                                TICKETS.c.unit_code.contains(bindparam("unit_part", type_=String), escape="/")))
    return query


def _urgency_order(due: Any, now: Any) -> list[Any]:
    """Emergencies first, then overdue work, then the appointment (else the due time), soonest first."""
    when = func.coalesce(TICKETS.c.appointment_at, due)
    overdue = [case((due < now, 0), else_=1)] if now is not None else []
    chased = case((TICKETS.c.chase_count > 0, 0), else_=1)  # a ticket the caller chased (催办) comes up
    return [case((TICKETS.c.emergency == true(), 0), else_=1), chased, *overdue, when.is_(None), when]


def _inbox_row(user: Actor, task: TaskSnapshot, row: Any, rt: Runtime | None, now: datetime | None, *,
               mine: bool) -> InboxRow:
    due_at = task.due_at or row.ticket_due_at
    # A pool's list (to claim) keeps phones masked; my own tasks may be called from the list. The row's task is
    # one of its ticket's open tasks, so ``may_see_phone`` holds without its query when I may act on it.
    may_see = mine and (is_supervisor(user) or may_act_on_task(user, task))
    return InboxRow(task, row.number, row.unit_code, row.category, row.phone, due_at,
                    unstaffed_of(task, row.unstaffed, row.project_key) or _empty_picker(rt, task, row),
                    project_name=row.project_name, city=row.city, problem=first_line(row.problem),
                    appointment_at=row.appointment_at, emergency=bool(row.emergency),
                    overdue=bool(now is not None and due_at is not None and due_at < now), may_see_phone=may_see,
                    wait=wait_of(row), chase_count=row.chase_count or 0)


def first_line(text: str | None) -> str | None:
    """The first non-empty line of a description, as a list shows the problem."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return None


def _empty_picker(rt: Runtime | None, task: TaskSnapshot, row: Any) -> Unstaffed | None:
    """The task's form picks a person of a role nobody holds in its department (e.g. no property technician)."""
    if rt is None or task.form_key is None or task.department is None or row.spec_key is None:
        return None
    staffed = set((row.staffed_roles or "").split(","))
    form = rt.bundles.get(row.spec_key).forms.get(task.form_key)
    missing = sorted(role for role in picker_fields(form).values() if role not in staffed)
    return Unstaffed("nobody", missing[0], task.department, picker=True) if missing else None


def inbox_counts(user: Actor) -> dict[str, int]:
    """How many open tasks each inbox tab holds (counted by the database in one statement, not by loading them)."""
    projects = visible_projects(user)
    query = _counts_statement(frozenset(user.role_keys), frozenset(user.department_keys),
                              None if projects is None else frozenset(projects))
    mine, group = db.session.connection().execute(query, {"user_id": user.id, "username": user.username}).one()
    return {"mine": int(mine or 0), "group": int(group or 0)}


@lru_cache(maxsize=256)
def _counts_statement(role_keys: frozenset[str], department_keys: frozenset[str],
                      projects: frozenset[str] | None) -> Any:
    """Both tabs' counts for users of these roles, departments and projects; built once (see ``_inbox_statement``)."""
    asker = _Asker(role_keys, department_keys)
    mine, group = task_scope("mine", asker), task_scope("group", asker)
    return (select(func.count().filter(mine), func.count().filter(group)).select_from(with_projects(TASKS))
            .where(TASK_IS_OPEN, or_(mine, group), in_projects(None if projects is None else set(projects))))


def ticket_view(rt: Runtime, number: str, *, user: Actor) -> TicketView:
    ticket = ticket_by_number(number, user=user)
    open_tasks = open_tasks_of(ticket.instance_id)
    timeline = timeline_of(rt, ticket.instance_id)
    may_see = may_see_phone(user, ticket.instance_id, open_tasks)
    if not may_see:
        timeline = [replace(entry, data=_masked(entry.data)) for entry in timeline]
    reopened_as = list(db.session.scalars(select(Ticket.number).where(Ticket.reopened_from_id == ticket.id)))
    origin = (db.session.scalar(select(Ticket.number).where(Ticket.id == ticket.reopened_from_id))
              if ticket.reopened_from_id else None)
    return TicketView(ticket, open_tasks, timeline, may_see, reopened_as, origin)


def may_see_phone(user: Actor, instance_id: int, open_tasks: list[TaskSnapshot] | None = None) -> bool:
    """Whether a ticket's full phone number is shown to ``user``, on its page and in the API alike: supervisors
    and admins, whoever may act on one of its open tasks, and whoever worked on it (``took_part``)."""
    tasks = open_tasks_of(instance_id) if open_tasks is None else open_tasks
    return is_supervisor(user) or any(may_act_on_task(user, task) for task in tasks) or took_part(user, instance_id)


def instances_with_phone_shown(user: Actor, instance_ids: Collection[int]) -> set[int]:
    """``may_see_phone`` for many tickets at once (a page of search results): the instances whose phone ``user``
    sees in full, in two statements."""
    if not instance_ids or is_supervisor(user):
        return set(instance_ids)
    tasks = db.session.execute(select(*TASK_COLUMNS).select_from(TASKS_WITH_CLAIMER).where(
        TASKS.c.instance_id.in_(instance_ids), TASK_IS_OPEN))
    acting = {task.instance_id for task in map(snapshot_of_row, tasks) if may_act_on_task(user, task)}
    return acting | took_part_in(user, set(instance_ids) - acting)


def shown_phone(phone: str | None, *, full: bool) -> str | None:
    """The phone number as a reader sees it: in full, or masked (``mask_phone``)."""
    return phone if full or not phone else mask_phone(phone)


_TICKET_OF_INSTANCE = select(Ticket).where(Ticket.instance_id == bindparam("instance_id")).limit(1)  # built once


def ticket_of_instance(instance_id: int) -> Ticket | None:
    return db.session.scalars(_TICKET_OF_INSTANCE, {"instance_id": instance_id}).first()


def timeline_of(rt: Runtime, instance_id: int) -> list[TimelineEntry]:
    """The audit trail of an instance, each entry with its task's title and the form it was submitted with."""
    events = db.session.scalars(select(AuditEvent).options(joinedload(AuditEvent.actor))
                                .where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id))
    tasks = {row.id: row for row in db.session.execute(
        select(HumanTask.id, HumanTask.title, HumanTask.form_key).where(HumanTask.instance_id == instance_id))}
    spec_key = db.session.scalar(select(ProcessInstance.spec_key).where(ProcessInstance.id == instance_id))
    facts = rt.bundles.get(spec_key) if spec_key else None
    entries = []
    for e in events:
        task = tasks.get(e.task_id or "")
        # A repeated call is written with the intake's fields, so it is read with the intake's form (its labels).
        form_key = task.form_key if task else (facts.start_form if facts and e.action in ("start", "call_attached")
                                               else None)
        entries.append(TimelineEntry(e.at, e.actor.display_name if e.actor else None,
                                     e.actor.username if e.actor else None, e.action, e.task_id,
                                     without_request_id(e.data),
                                     task.title if task else None,
                                     facts.forms.get(form_key) if facts and form_key else None))
    return entries


def _masked(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Submitted data with every phone number and e-mail address masked, for people not working on the ticket."""
    if data is None:
        return None
    return {key: mask_phone(str(value)) if "phone" in key and value
            else mask_email(str(value)) if "email" in key and value else value for key, value in data.items()}


def mask_phone(phone: str | None) -> str:
    """138****8000: the middle four digits hidden, as PIPL practice in lists."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"
