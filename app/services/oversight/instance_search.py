"""The admin's instance list: filters, sorting, keyset pages, saved filters and CSV/XLSX exports.

Every page is one indexed query ordered by a key plus the instance id, continued from the last
row seen (never OFFSET), so page 1000 costs what page 1 costs on a million tickets.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, delete, exists, false, func, or_, select, true

from app.extensions import db
from app.models import (
    FINISHED_STATUSES,
    Bundle,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    Role,
    Ticket,
    TicketStage,
    User,
)
from app.models.admin import SavedFilter
from app.services.access import Actor
from app.services.errors import InvalidRequestError, msg
from app.services.people.organisation import visible_projects
from app.services.steps.write import TASK_IS_OPEN

PAGE_SIZE = 50
STATUSES = tuple(InstanceStatus)
SORTS = ("newest", "oldest", "due")

PI, T, B, HT = ProcessInstance.__table__, Ticket.__table__, Bundle.__table__, HumanTask.__table__


@dataclass(frozen=True)
class InstanceFilter:
    """What the list is narrowed to; every field optional. ``text`` matches ticket number, phone,
    unit (prefix) or caller."""

    process_id: str | None = None
    bundle_id: int | None = None
    status: str | None = None
    stage: str | None = None
    department: str | None = None
    assignee: str | None = None
    overdue: bool = False
    escalation_level: int | None = None
    started_from: date | None = None
    started_to: date | None = None
    text: str | None = None
    sort: str = "newest"

    def as_query(self) -> dict[str, str]:
        """The non-empty filters as URL parameters (what a saved filter stores)."""
        values = {name: value for name, value in asdict(self).items() if value not in (None, "", False)}
        if values.get("sort") == "newest":
            values.pop("sort")
        return {name: ("1" if value is True else str(value)) for name, value in values.items()}


def parse_filter(args: Mapping[str, str]) -> InstanceFilter:
    """A filter from URL parameters; raise InvalidRequestError naming each bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for spec in fields(InstanceFilter):
        raw = (args.get(spec.name) or "").strip()
        if not raw:
            continue
        try:
            values[spec.name] = _parse_value(spec.name, raw)
        except ValueError as exc:
            errors[spec.name] = str(exc)
    if errors:
        raise InvalidRequestError(msg("invalid filter"), errors=errors)
    return InstanceFilter(**values)


def _parse_value(name: str, raw: str) -> Any:
    if name in ("bundle_id", "escalation_level"):
        if not raw.isdigit():
            raise ValueError("expected a whole number")
        return int(raw)
    if name in ("started_from", "started_to"):
        return date.fromisoformat(raw)
    if name == "overdue":
        return raw in ("1", "true", "on", "yes")
    if name == "status" and raw not in STATUSES:
        raise ValueError(f"one of {', '.join(STATUSES)}")
    if name == "sort" and raw not in SORTS:
        raise ValueError(f"one of {', '.join(SORTS)}")
    return raw[:100]


@dataclass(frozen=True)
class InstanceRow:
    instance_id: int
    process_id: str
    title: str
    version: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    ticket_number: str | None
    project_key: str | None
    unit: str | None
    caller: str | None
    phone: str | None
    category: str | None
    stage: str | None
    department: str | None
    due_at: datetime | None
    escalation_level: int | None
    closed_at: datetime | None
    error_element: str | None
    open_tasks: tuple[tuple[str, str], ...] = ()  # (title, who) of each open task
    # What its ticket waits for (services/work/waiting.py ``wait_of`` reads these).
    waiting_for: str | None = None
    waiting_note: str | None = None
    waiting_since: datetime | None = None
    waiting_until: datetime | None = None

    def is_overdue(self, now: datetime) -> bool:
        return self.closed_at is None and self.due_at is not None and self.due_at < now \
            and self.status not in FINISHED_STATUSES


@dataclass(frozen=True)
class InstancePage:
    rows: list[InstanceRow]
    next_cursor: str | None


# An instance's project: its ticket's, else its own (a planned callback, a notice, a handover has no ticket).
_PROJECT = func.coalesce(T.c.project_key, PI.c.project_key)
_COLUMNS = (PI.c.id, PI.c.process_id, B.c.title, B.c.version, PI.c.status, PI.c.started_at, PI.c.ended_at, T.c.number,
            _PROJECT.label("project_key"), T.c.unit_code, T.c.caller, T.c.phone, T.c.category, T.c.stage,
            T.c.department, T.c.due_at, T.c.escalation_level, T.c.closed_at, PI.c.error, T.c.waiting_for,
            T.c.waiting_note, T.c.waiting_since, T.c.waiting_until)
_FROM = PI.join(B, B.c.id == PI.c.bundle_id).outerjoin(T, T.c.instance_id == PI.c.id)


def list_instances(flt: InstanceFilter, *, user: Actor, now: datetime, timezone: str, cursor: str | None = None,
                   limit: int = PAGE_SIZE) -> InstancePage:
    """One page of instances matching ``flt``, in its sort order, after ``cursor``."""
    query = _filtered(flt, user=user, now=now, timezone=timezone)
    after = _decode_cursor(cursor) if cursor else None
    if after:
        query = query.where(_after(flt.sort, after))
    query = query.order_by(*_order(flt.sort))
    if _walks_overdue_tickets(flt):
        rows = _overdue_walk(query, flt, user=user, now=now, after=after[1] if after else None, wanted=limit + 1)
    else:
        rows = [_row(r) for r in db.session.execute(query.limit(limit + 1))]
    more = len(rows) > limit
    rows = _with_open_tasks(rows[:limit])
    return InstancePage(rows, _encode_cursor(flt.sort, rows[-1]) if more and rows else None)


OVERDUE_BATCH = 200
OVERDUE_BATCH_MAX = 5000
WALKED_STATUSES = (None, InstanceStatus.WAITING, InstanceStatus.RUNNING)


def _walks_overdue_tickets(flt: InstanceFilter) -> bool:
    """Whether the page is found by walking the overdue tickets in id order (see ``_overdue_walk``):
    when they are the narrowest part of the filter, i.e. besides overdue only a department and a status
    an open ticket's instance usually has.

    Any other filter (free text, dates, stage, flow, version, assignee, level, a rare status) finds its
    rows by its own index in one query, where a walk could read every overdue ticket for a handful of
    rows; the deadline sort walks the open tickets' deadline index already.
    """
    others = (flt.text, flt.started_from, flt.started_to, flt.stage, flt.process_id, flt.bundle_id, flt.assignee,
              flt.escalation_level)
    return flt.overdue and flt.sort != "due" and flt.status in WALKED_STATUSES \
        and all(value is None for value in others)


def _overdue_walk(query: Select[Any], flt: InstanceFilter, *, user: Actor, now: datetime, after: int | None,
                  wanted: int) -> list[InstanceRow]:
    """The first ``wanted`` rows of ``query`` (already filtered, ordered by instance id), taken from the
    overdue tickets in batches of instance ids walked in the page's order.

    PostgreSQL cannot know that nearly every open ticket's instance is waiting (they are in two
    tables), so it expects a handful of rows, reads every waiting instance and sorts them. Walking the
    open tickets' index (department, instance_id) in order stops after about a page instead; each
    batch is the next run of ids, so the rows of one batch all come before the next batch's.
    """
    newest = flt.sort != "oldest"
    overdue = _overdue_tickets(flt, user=user, now=now).order_by(
        T.c.instance_id.desc() if newest else T.c.instance_id.asc())
    rows: list[InstanceRow] = []
    batch = OVERDUE_BATCH
    while len(rows) < wanted:
        candidates = overdue
        if after is not None:
            candidates = candidates.where(T.c.instance_id < after if newest else T.c.instance_id > after)
        ids = list(db.session.scalars(candidates.limit(batch)))
        if ids:
            found = db.session.execute(query.where(PI.c.id.in_(ids)).limit(wanted - len(rows)))
            rows += [_row(r) for r in found]
        if len(ids) < batch:
            break
        after, batch = ids[-1], min(batch * 4, OVERDUE_BATCH_MAX)
    return rows


def _overdue_tickets(flt: InstanceFilter, *, user: Actor, now: datetime) -> Select[Any]:
    """The instance ids of the overdue tickets in the filter's department and the user's projects."""
    query = select(T.c.instance_id).where(T.c.closed_at.is_(None), T.c.due_at < now)
    if flt.department:
        query = query.where(T.c.department == flt.department)
    visible = _visible(user, T.c.project_key)  # a manager's own projects: no batch is spent on the others
    return query if visible is None else query.where(visible)


def _filtered(flt: InstanceFilter, *, user: Actor, now: datetime, timezone: str) -> Select[Any]:
    query = select(*_COLUMNS).select_from(_FROM)
    conditions = [
        PI.c.process_id == flt.process_id if flt.process_id else None,
        PI.c.bundle_id == flt.bundle_id if flt.bundle_id else None,
        PI.c.status == flt.status if flt.status else None,
        T.c.stage == flt.stage if flt.stage else None,
        # Only an open ticket is in a stage other than "closed": saying so lets the open-ticket indexes serve.
        T.c.closed_at.is_(None) if flt.stage and flt.stage != TicketStage.CLOSED else None,
        T.c.department == flt.department if flt.department else None,
        T.c.escalation_level == flt.escalation_level if flt.escalation_level is not None else None,
        _assigned_to(flt.assignee) if flt.assignee else None,
        _overdue(now, flt.status) if flt.overdue else None,
        _text_matches(flt.text) if flt.text else None,
        T.c.id.is_not(None) if flt.sort == "due" else None,  # deadlines are tickets': the sort lists tickets
        _visible(user, _PROJECT),
    ]
    zone = ZoneInfo(timezone)
    if flt.started_from:
        conditions += _started_since(datetime.combine(flt.started_from, time(), zone).astimezone(UTC))
    if flt.started_to:
        conditions += _started_before(datetime.combine(flt.started_to + timedelta(days=1), time(), zone)
                                      .astimezone(UTC))
    return query.where(*[condition for condition in conditions if condition is not None])


# Ids grow with start time, give or take instances started at the same moment by concurrent requests;
# a date range also bounds the id (with this much slack), so a page of an old month starts where the
# month starts instead of walking back from today. The start times themselves are still checked exactly.
ID_SLACK = 1000


def _started_since(moment: datetime) -> list[Any]:
    first = select(PI.c.id).where(PI.c.started_at >= moment).order_by(PI.c.started_at.asc()).limit(1)
    return [PI.c.started_at >= moment, PI.c.id >= first.scalar_subquery() - ID_SLACK]


def _started_before(moment: datetime) -> list[Any]:
    last = select(PI.c.id).where(PI.c.started_at < moment).order_by(PI.c.started_at.desc()).limit(1)
    return [PI.c.started_at < moment, PI.c.id <= last.scalar_subquery() + ID_SLACK]


def _assigned_to(username: str) -> Any:
    user_id = select(User.id).where(User.username == username).scalar_subquery()
    return exists(select(HT.c.id).where(HT.c.instance_id == PI.c.id, TASK_IS_OPEN,
                                        or_(HT.c.assignee == username, HT.c.claimed_by_id == user_id)))


def _overdue(now: datetime, status: str | None) -> Any:
    """Tickets still open past their deadline (the ticket's deadline is the one the business keeps).

    With a status filter the instance's own check is that filter's business: repeating it as
    ``status NOT IN (...)`` would make PostgreSQL multiply the two (1% waiting x 1% not finished) and
    expect a hundred times fewer rows than match, so it read every waiting instance and sorted them.
    """
    if status in FINISHED_STATUSES:
        return false()
    ticket_open_and_late = and_(T.c.closed_at.is_(None), T.c.due_at < now)
    return ticket_open_and_late if status else and_(ticket_open_and_late, PI.c.status.notin_(FINISHED_STATUSES))


TEXT_MATCH_LIMIT = 1000


def _text_matches(text: str) -> Any:
    """Ticket number, phone, caller: exactly; unit: by prefix; or an instance number.

    The matching tickets are found first (each condition has its own index) and the list is then
    narrowed to their instances: one OR across the ticket and instance tables would make the database
    walk the whole list. A prefix that matches very many tickets is left in the query, where the walk
    finds a page quickly because so many rows match.
    """
    text = text.strip()
    if not text:
        return true()
    ticket_match = or_(T.c.number == text.upper(), T.c.phone == text, T.c.caller == text,
                       T.c.unit_code.startswith(text, autoescape=True))
    ids = list(db.session.scalars(select(T.c.instance_id).where(ticket_match).limit(TEXT_MATCH_LIMIT + 1)))
    if len(ids) > TEXT_MATCH_LIMIT:
        return ticket_match
    if text.isdigit() and len(text) <= 9:  # an instance number (a phone number is longer than any id)
        ids.append(int(text))
    return PI.c.id.in_(ids) if ids else false()


def _visible(user: Actor, project: Any) -> Any:
    allowed = visible_projects(user)
    if allowed is None:
        return None
    return or_(project.is_(None), project.in_(allowed)) if allowed else false()


def _order(sort: str) -> tuple[Any, ...]:
    """Instance ids grow with start time, so "newest" is the id, which every ticket index carries too
    (``tickets.instance_id``): a filter on a ticket column walks its (column, instance_id) index in order."""
    if sort == "oldest":
        return (PI.c.id.asc(),)
    if sort == "due":
        return T.c.due_at.asc().nulls_last(), T.c.instance_id.asc()
    return (PI.c.id.desc(),)


def _after(sort: str, cursor: tuple[datetime | None, int]) -> Any:
    key, last_id = cursor
    if sort == "due":
        if key is None:
            return and_(T.c.due_at.is_(None), T.c.instance_id > last_id)
        return or_(T.c.due_at > key, and_(T.c.due_at == key, T.c.instance_id > last_id), T.c.due_at.is_(None))
    return PI.c.id > last_id if sort == "oldest" else PI.c.id < last_id


def _encode_cursor(sort: str, row: InstanceRow) -> str:
    key = row.due_at if sort == "due" else None
    raw = json.dumps([key.isoformat() if key else None, row.instance_id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    try:
        key, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        moment = datetime.fromisoformat(key) if key is not None else None
        if moment is not None and moment.tzinfo is None:
            raise ValueError("cursor time without offset")
        return (moment.astimezone(UTC) if moment else None), int(last_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequestError("invalid cursor", errors={"cursor": "invalid"}) from exc


def _row(r: Any) -> InstanceRow:
    error = r.error if isinstance(r.error, dict) else None
    return InstanceRow(r.id, r.process_id, r.title, r.version, r.status, r.started_at, r.ended_at, r.number,
                       r.project_key, r.unit_code, r.caller, r.phone, r.category, r.stage, r.department, r.due_at,
                       r.escalation_level, r.closed_at, (error or {}).get("element_id"), waiting_for=r.waiting_for,
                       waiting_note=r.waiting_note, waiting_since=r.waiting_since, waiting_until=r.waiting_until)


def _open_tasks_statement() -> Select[Any]:
    """The open tasks of a page's instances, each with who holds it by name: the claimer, the assignee, else the
    role ("中文 / English")."""
    claimer = User.__table__.alias("claimer")
    assigned = User.__table__.alias("assigned")
    roles = Role.__table__
    role_name = (roles.c.name_zh + " / " + roles.c.name_en).label("role_name")
    return (select(HT.c.instance_id, HT.c.title, HT.c.assignee, HT.c.role, claimer.c.display_name.label("claimer"),
                   assigned.c.display_name.label("assigned"), role_name)
            .select_from(HT.outerjoin(claimer, claimer.c.id == HT.c.claimed_by_id)
                         .outerjoin(assigned, assigned.c.username == HT.c.assignee)
                         .outerjoin(roles, roles.c.key == HT.c.role))
            .where(HT.c.instance_id.in_(bindparam("instance_ids", expanding=True)),
                   TASK_IS_OPEN)
            .order_by(HT.c.created_at))


_OPEN_TASKS = _open_tasks_statement()  # built once: the same statement object keeps its cache key


def _with_open_tasks(rows: list[InstanceRow]) -> list[InstanceRow]:
    if not rows:
        return rows
    found: dict[int, list[tuple[str, str]]] = {}
    for task in db.session.execute(_OPEN_TASKS, {"instance_ids": [row.instance_id for row in rows]}):
        who = task.claimer or task.assigned or task.assignee or task.role_name or task.role or "—"
        found.setdefault(task.instance_id, []).append((task.title, who))
    return [replace(row, open_tasks=tuple(found[row.instance_id])) if row.instance_id in found else row
            for row in rows]


def filter_choices() -> dict[str, Any]:
    """Flows and their versions, for the filter's drop-downs."""
    versions: dict[str, list[tuple[int, int]]] = {}
    for bundle_id, process_id, version in db.session.execute(
            select(Bundle.id, Bundle.process_id, Bundle.version).order_by(Bundle.process_id, Bundle.version.desc())):
        versions.setdefault(process_id, []).append((bundle_id, version))
    return {"versions": versions}


# --- saved filters --------------------------------------------------------------------------------------------

def save_filter(name: str, flt: InstanceFilter, *, user: Actor, now: datetime) -> SavedFilter:
    """Save (or replace) the user's filter called ``name``."""
    name = name.strip()
    if not name or len(name) > 80:
        raise InvalidRequestError(msg("give the filter a name of 1–80 characters"),
                                  errors={"name": "required"})
    saved = db.session.scalars(select(SavedFilter).where(SavedFilter.user_id == user.id,
                                                         SavedFilter.name == name)).first()
    if saved is None:
        saved = SavedFilter(user_id=user.id, name=name, created_at=now, query={})
        db.session.add(saved)
    saved.query = flt.as_query()
    db.session.commit()
    return saved


def saved_filters(*, user: Actor) -> list[SavedFilter]:
    return list(db.session.scalars(select(SavedFilter).where(SavedFilter.user_id == user.id)
                                   .order_by(SavedFilter.name)))


def delete_saved_filter(filter_id: int, *, user: Actor) -> None:
    db.session.execute(delete(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.user_id == user.id))
    db.session.commit()
