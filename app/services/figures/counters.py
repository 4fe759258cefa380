"""Service figures' counters (办结率, 及时率, 满意率, ...), kept in each step's transaction.

Every figure's formula is written in docs/kpi.md and in ``FORMULAS`` (shown as a tooltip). The
counters live in ``kpi_daily`` (one row per business day, project, dimension and value);
``kpi_ticket_facts`` remembers what each ticket contributed last, so a change moves exactly its
old counts to the new ones. ``rebuild`` recomputes both from the tickets. The dashboard reads them
(``figures/dashboard.py``).

Monthly roll-ups live in the same table: every change to a day's row is added, in the same upsert, to its
month's row (dimension ``m:<dimension>``, day = the first of the business month), so a year's dashboard sums
twelve rows per slice instead of 365. A change to an old day (a ticket received in January closes in March)
moves January's month row too, so the roll-ups never go stale; ``rebuild`` recounts them with the days.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Text, and_, bindparam, cast, column, delete, event, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.models import AuditEvent, HumanTask, Ticket
from app.models.handover import HandoverDefect
from app.models.reports import KpiDaily, KpiTicketFacts
from app.services.settings import get_setting

DAILY = KpiDaily.__table__
FACTS = KpiTicketFacts.__table__
EVENTS = AuditEvent.__table__
TICKET_COUNTERS = ("received", "closed_of_received", "closed", "closed_in_time", "closed_first_time",
                   "callbacks_attempted", "callbacks_reached", "satisfied", "repeat_repairs", "attached_calls",
                   "reopened", "escalated", "closed_with_limit", "duplicate_dispatches")
COUNTERS = (*TICKET_COUNTERS, "tasks_done", "task_seconds")
TICKET_DIMENSIONS = ("all", "department", "category")
SATISFIED = frozenset({"very_satisfied", "satisfied"})
# Categories whose tickets are dispatched to a department (派单): a second one for the same unit is a duplicate.
DISPATCHED = ("repair", "complaint")
# Repairs of these parts are leaks or cracks (渗漏裂), the documents' first complaint hot spot.
LEAK_PARTS = frozenset({"roof_waterproof", "kitchen_bathroom_waterproof", "exterior_wall"})

Key = tuple[str, date, str, str]  # dimension, day, project, value
# The whole company's rows carry this project key (no project key can hold "*"), so the
# company-wide dashboard sums a few rows per day instead of every project's.
COMPANY = "*"
VALUE_DIMENSIONS = ("department", "category", "hot_spot", "element", "user")
# A month row's dimension: this prefix and the day row's dimension (12 characters at most: "m:department").
MONTH = "m:"


def month_of(dimension: str) -> str:
    """The dimension of the month rows that sum ``dimension``'s day rows."""
    return MONTH + dimension


@dataclass(frozen=True)
class Facts:
    project_key: str
    department: str
    category: str
    hot_spot: str
    received_day: date
    closed_day: date | None
    closed_in_time: bool
    closed_first_time: bool
    satisfaction: str
    outcome: str
    repeat_repair: bool
    attached_calls: int
    reopened: bool
    escalated: bool
    had_limit: bool
    duplicate_dispatch: bool


# --- keeping the counters ---------------------------------------------------------------------------

# One round trip on the step's hot path: the ticket and what it contributed last.
# Core only (no ORM attribute): an ORM-enabled statement costs more to run.
_TICKETS = Ticket.__table__
# With it, the handover unit whose defect the ticket repairs (``defect_unit_id``, None for most), for the
# re-inspection check of a step that finishes the work (app.services.handover.repairs).
_DEFECTS = HandoverDefect.__table__
_TASKS = HumanTask.__table__
# And, one row each, the tasks of its instance completed since it was counted last (``_COMPLETED_SINCE``'s rows, as
# ``done_`` columns; one row of NULLs when there is none): a step counts them without a statement of its own.
_DONE_COLUMNS = (EVENTS.c.id, _TASKS.c.process_id, _TASKS.c.element_id, _TASKS.c.title, _TASKS.c.created_at,
                 _TASKS.c.completed_at, _TASKS.c.completed_by_id)
_DONE_NAMES = tuple(f"done_{column.name}" for column in _DONE_COLUMNS)
_TICKET_WITH_FACTS = (
    select(_TICKETS, *[FACTS.c[f.name].label(f"f_{f.name}") for f in fields(Facts)],
           FACTS.c.counted_event_id.label("f_counted_event_id"),
           select(_DEFECTS.c.handover_unit_id).where(_DEFECTS.c.ticket_id == _TICKETS.c.id).scalar_subquery()
           .label("defect_unit_id"),
           *(column.label(name) for column, name in zip(_DONE_COLUMNS, _DONE_NAMES, strict=True)))
    .select_from(_TICKETS.outerjoin(FACTS, FACTS.c.ticket_id == _TICKETS.c.id).outerjoin(
        EVENTS.join(_TASKS, _TASKS.c.id == EVENTS.c.task_id),
        and_(EVENTS.c.instance_id == _TICKETS.c.instance_id,
             EVENTS.c.id > func.coalesce(FACTS.c.counted_event_id, 0),
             EVENTS.c.action == "complete", _TASKS.c.state == "completed")))
    .where(_TICKETS.c.id == bindparam("ticket_id"))
)
_FACT_FIELDS = tuple(f.name for f in fields(Facts))
_FACT_NAMES = (*(f"f_{name}" for name in _FACT_FIELDS), "f_counted_event_id")
# Read with the ticket, not among its columns (``completed_since``: the ``_COMPLETED_SINCE`` rows read with it).
_CARRIED_NAMES = (*_FACT_NAMES, "defect_unit_id", "completed_since")
_FACT_PAIRS = tuple((name, f"f_{name}") for name in _FACT_FIELDS)
# Built once and run with the facts as parameters (building and keying them per step costs more than running them).
_INSERT_FACTS = FACTS.insert()
_UPDATE_FACTS = FACTS.update().where(FACTS.c.ticket_id == bindparam("ticket_id_"))


def _values_of(facts: Facts) -> dict[str, Any]:
    """``asdict`` of flat facts, without its deep copies."""
    return dict(vars(facts))


class TicketRow(SimpleNamespace):
    """A ticket's columns and (``f_`` names) what it contributed to the counters last: read once per ticket step
    (``read_ticket``), brought up to date by the step's own writes, and handed to whatever the step does next."""

    @classmethod
    def of(cls, row: Any, counted: Any = None) -> TicketRow:
        """The ticket's columns from ``row`` (a mapping), and its ``f_`` names and ``defect_unit_id`` from
        ``counted`` (None: never counted)."""
        return cls(**dict(row), **{name: getattr(counted, name, None) for name in _CARRIED_NAMES})


class _Done(NamedTuple):
    """A task completed since the ticket was counted last (a ``_COMPLETED_SINCE`` row)."""

    id: int
    process_id: str
    element_id: str
    title: str
    created_at: datetime
    completed_at: datetime
    completed_by_id: int | None


def read_ticket(ticket_id: int) -> TicketRow | None:
    """The ticket, what it contributed last and the tasks completed since (``completed_since``), in one statement."""
    rows = db.session.connection().execute(_TICKET_WITH_FACTS, {"ticket_id": ticket_id}).all()
    if not rows:
        return None
    ticket = TicketRow(**{name: value for name, value in rows[0]._mapping.items() if name not in _DONE_NAMES})
    ticket.completed_since = [_Done(*row[-len(_DONE_NAMES):]) for row in rows if row.done_id is not None]
    return ticket


def count_ticket(ticket_id: int, *, timezone: str, data: Mapping[str, Any] | None = None) -> None:
    """Bring the counters in line with the ticket as it now stands (inside the caller's transaction)."""
    _count(ticket_id, timezone, data or {}, with_tasks=False)


def count_new_ticket(ticket_id: int, *, timezone: str, data: Mapping[str, Any],
                     ticket: TicketRow | None = None) -> None:
    """Count a new ticket; when it is a repeat repair, the earlier tickets it flagged are recounted too.

    ``ticket``: the row as just written (saves reading it again)."""
    ticket = _count(ticket_id, timezone, data, with_tasks=False, ticket=ticket)
    if ticket is None or not ticket.repeat_repair:
        return
    flagged = db.session.scalars(
        select(Ticket.id).join(FACTS, FACTS.c.ticket_id == Ticket.id)
        .where(Ticket.project_key == ticket.project_key, Ticket.unit_code == ticket.unit_code,
               Ticket.repeat_repair.is_(True), FACTS.c.repeat_repair.is_(False), Ticket.id != ticket_id)
    ).all()
    for earlier in flagged:
        _count(earlier, timezone, {}, with_tasks=False)


def count_step(ticket_id: int, *, timezone: str, data: Mapping[str, Any], ticket: TicketRow | None = None) -> None:
    """After a step: recount the ticket, and add the tasks completed since the last count to the
    stage and person times (found through their audit events, whose ids only grow).

    ``ticket``: the ticket as the step left it, with what it contributed last (else it is read)."""
    _count(ticket_id, timezone, data, with_tasks=True, ticket=ticket)


def _count(ticket_id: int, timezone: str, data: Mapping[str, Any], *, with_tasks: bool,
           ticket: TicketRow | None = None) -> TicketRow | None:
    """Move the ticket's counts from what it contributed last to what it contributes now, and (``with_tasks``)
    add its newly completed tasks' times: one read (none when ``ticket`` is given), one upsert, one write of the
    facts. Returns the ticket row."""
    if ticket is None:
        ticket = read_ticket(ticket_id)
    if ticket is None:
        return None
    zone = ZoneInfo(timezone)
    old = _facts_of_row(ticket) if ticket.f_received_day is not None else None
    new = facts_of(ticket, zone, hot_spot=hot_spot_of(ticket.category, ticket.part, data, old.hot_spot if old else ""),
                   duplicate_dispatch=old.duplicate_dispatch if old and old.category == ticket.category
                   else is_second_dispatch(ticket))
    changes: dict[Key, dict[str, int]] = {}
    if new != old:
        changes = contributions(new)
        for key, counts in (contributions(old) if old else {}).items():
            for name, count in counts.items():
                changes.setdefault(key, {})[name] = changes.get(key, {}).get(name, 0) - count
    last_event = int(ticket.f_counted_event_id or 0)
    labels: dict[Key, str] = {}
    if with_tasks:
        done: Sequence[Any] | None = getattr(ticket, "completed_since", None)  # read with the ticket
        if done is None:
            done = db.session.connection().execute(_COMPLETED_SINCE,
                                                   {"instance_id": ticket.instance_id, "last": last_event}).all()
        for key, (counts, label) in _task_times(done, ticket.project_key, zone).items():
            merged = changes.setdefault(key, {})
            for name, count in counts.items():
                merged[name] = merged.get(name, 0) + count
            if label:
                labels[key] = label
        last_event = max([last_event, *(row.id for row in done)])
    _add(changes, labels)
    values = _values_of(new)
    if old is None:
        db.session.connection().execute(_INSERT_FACTS, {"ticket_id": ticket_id, "counted_event_id": last_event,
                                                        **values})
    elif new != old or last_event != ticket.f_counted_event_id:
        db.session.connection().execute(_UPDATE_FACTS, {"ticket_id_": ticket_id, "counted_event_id": last_event,
                                                        **values})
    for name, attribute in _FACT_PAIRS:  # what it contributes now, should the step count it again
        setattr(ticket, attribute, values[name])
    ticket.f_counted_event_id = last_event
    if with_tasks:
        ticket.completed_since = []  # counted now
    return ticket


_COMPLETED_SINCE = (  # Core only, as _TICKET_WITH_FACTS; for a ticket row read without its completed tasks
    select(EVENTS.c.id, _TASKS.c.process_id, _TASKS.c.element_id, _TASKS.c.title, _TASKS.c.created_at,
           _TASKS.c.completed_at, _TASKS.c.completed_by_id)
    .join(_TASKS, _TASKS.c.id == EVENTS.c.task_id)
    .where(EVENTS.c.instance_id == bindparam("instance_id"), EVENTS.c.id > bindparam("last"),
           EVENTS.c.action == "complete", _TASKS.c.state == "completed")
)


def _task_times(done: Iterable[Any], project_key: str, zone: ZoneInfo) -> dict[Key, tuple[dict[str, int], str]]:
    """Tasks done and their seconds per (day, step) and per (day, person), with the step's title."""
    result: dict[Key, tuple[dict[str, int], str]] = {}
    for task in done:
        day = task.completed_at.astimezone(zone).date()
        seconds = max(0, int((task.completed_at - task.created_at).total_seconds()))
        keys: list[Key] = [("element", day, project_key, f"{task.process_id}/{task.element_id}")]
        if task.completed_by_id:
            keys.append(("user", day, project_key, str(task.completed_by_id)))
        for key in keys:
            counts, _ = result.setdefault(key, ({"tasks_done": 0, "task_seconds": 0},
                                                 task.title if key[0] == "element" else ""))
            counts["tasks_done"] += 1
            counts["task_seconds"] += seconds
    return result


def hot_spot_of(category: str, part: str | None, data: Mapping[str, Any], known: str = "") -> str:
    """The hot spot a complaint or repair counts under: the classified one, else its type or part."""
    if category == "complaint":
        return str(data.get("hot_spot") or known or data.get("complaint_type") or "other")
    if category == "repair":
        part = str(data.get("part") or part or "other")
        return "leak_crack" if part in LEAK_PARTS else part
    return ""


def is_second_dispatch(ticket: Any) -> bool:
    """A repair or complaint recorded while the duplicate search would have offered an earlier ticket of the same
    unit and category (open then, or received within the duplicate window): dispatched twice (重复派单).

    Judged when the ticket is first counted (and again if its category changes); a reopened complaint is the
    flow's own follow-up, not a duplicate.
    """
    if ticket.category not in DISPATCHED or ticket.reopened_from_id is not None:
        return False
    window = timedelta(days=int(get_setting("duplicate_window_days")))
    earlier = db.session.connection().execute(_EARLIER_DISPATCH, {
        "project_key": ticket.project_key, "unit_code": ticket.unit_code, "category": ticket.category,
        "ticket_id": ticket.id, "received_at": ticket.received_at, "window_start": ticket.received_at - window,
    }).first()
    return earlier is not None


_EARLIER_DISPATCH = select(_TICKETS.c.id).where(  # built once
    _TICKETS.c.project_key == bindparam("project_key"), _TICKETS.c.unit_code == bindparam("unit_code"),
    _TICKETS.c.category == bindparam("category"), _TICKETS.c.id < bindparam("ticket_id"),
    or_(_TICKETS.c.received_at >= bindparam("window_start"), _TICKETS.c.closed_at.is_(None),
        _TICKETS.c.closed_at > bindparam("received_at"))).limit(1)


def second_dispatches(batch: int = 5000) -> set[int]:
    """``is_second_dispatch`` of every ticket at once, in one ordered pass (for ``rebuild``)."""
    window = timedelta(days=int(get_setting("duplicate_window_days")))
    found: set[int] = set()
    group: tuple[str, str, str] | None = None
    earlier = _Earlier()
    for row in db.session.execute(
            select(Ticket.id, Ticket.project_key, Ticket.unit_code, Ticket.category, Ticket.received_at,
                   Ticket.closed_at, Ticket.reopened_from_id).where(Ticket.category.in_(DISPATCHED))
            .order_by(Ticket.project_key, Ticket.unit_code, Ticket.category, Ticket.id)).yield_per(batch):
        if (row.project_key, row.unit_code, row.category) != group:
            group, earlier = (row.project_key, row.unit_code, row.category), _Earlier()
        elif row.reopened_from_id is None and earlier.offered_at(row.received_at):
            found.add(row.id)
        earlier.add(row.received_at + window, row.closed_at)
    return found


@dataclass
class _Earlier:
    """The earlier tickets of one unit and category: until when the duplicate search offers one of them."""

    received_until: datetime | None = None  # the latest reception + window
    closed_until: datetime | None = None  # the latest closing
    still_open: bool = False

    def add(self, received_until: datetime, closed_at: datetime | None) -> None:
        self.received_until = max(self.received_until or received_until, received_until)
        if closed_at is None:
            self.still_open = True
        else:
            self.closed_until = max(self.closed_until or closed_at, closed_at)

    def offered_at(self, moment: datetime) -> bool:
        return (self.still_open or (self.received_until is not None and self.received_until >= moment)
                or (self.closed_until is not None and self.closed_until > moment))


def facts_of(ticket: Any, zone: ZoneInfo, *, hot_spot: str, duplicate_dispatch: bool = False) -> Facts:
    """What a ticket contributes. Without a time limit it is outside the 及时率 (neither in time nor late), and a
    rework or a reopening means it was not closed the first time (docs/kpi.md)."""
    closed = ticket.closed_at is not None
    had_limit = ticket.due_at is not None
    return Facts(
        project_key=ticket.project_key, department=ticket.department or "", category=ticket.category,
        hot_spot=hot_spot, received_day=ticket.received_at.astimezone(zone).date(),
        closed_day=ticket.closed_at.astimezone(zone).date() if closed else None,
        closed_in_time=closed and had_limit and bool(ticket.closed_in_time),
        closed_first_time=closed and bool(ticket.closed_first_time) and not int(ticket.rework_count or 0)
        and not ticket.reopened,
        satisfaction=ticket.satisfaction or "", outcome=ticket.outcome or "",
        repeat_repair=ticket.category == "repair" and bool(ticket.repeat_repair),
        attached_calls=int(ticket.attached_calls or 0), reopened=bool(ticket.reopened),
        escalated=int(ticket.escalation_level or 0) >= 1,
        had_limit=had_limit, duplicate_dispatch=duplicate_dispatch,
    )


def contributions(facts: Facts) -> dict[Key, dict[str, int]]:
    """The counts one ticket adds: on the day it was received, and on the day it closed."""
    values = {"all": "", "department": facts.department, "category": facts.category}
    received = {"received": 1, "closed_of_received": int(facts.closed_day is not None),
                "repeat_repairs": int(facts.repeat_repair), "attached_calls": facts.attached_calls,
                "reopened": int(facts.reopened), "escalated": int(facts.escalated),
                "duplicate_dispatches": int(facts.duplicate_dispatch)}
    result = {(dimension, facts.received_day, facts.project_key, value): dict(received)
              for dimension, value in values.items()}
    if facts.hot_spot:
        result[("hot_spot", facts.received_day, facts.project_key, facts.hot_spot)] = {"received": 1}
    if facts.closed_day is not None:
        reached = bool(facts.satisfaction)
        closed = {"closed": 1, "closed_in_time": int(facts.closed_in_time), "closed_with_limit": int(facts.had_limit),
                  "closed_first_time": int(facts.closed_first_time),
                  "callbacks_attempted": int(reached or facts.outcome == "unreachable"),
                  "callbacks_reached": int(reached), "satisfied": int(facts.satisfaction in SATISFIED)}
        for dimension, value in values.items():
            counts = result.setdefault((dimension, facts.closed_day, facts.project_key, value), {})
            for name, count in closed.items():
                counts[name] = counts.get(name, 0) + count
    return result


def _facts_of_row(row: Any) -> Facts:
    """The facts read with ``_TICKET_WITH_FACTS`` (columns prefixed ``f_``)."""
    return Facts(*(getattr(row, attribute) for _name, attribute in _FACT_PAIRS))


def _add(changes: Mapping[Key, Mapping[str, int]], labels: Mapping[Key, str]) -> None:
    """Add counts to the daily rows, to the whole company's (project ``*``) and to their months, when the transaction
    commits (``_write_pending``)."""
    rows = counter_rows(changes, labels)
    if not rows:
        return
    pending: dict[tuple[str, date, str, str], dict[str, Any]] = db.session.info.setdefault(_PENDING, {})
    for row in rows:
        key = (row["dimension"], row["day"], row["project_key"], row["value"])
        known = pending.get(key)
        if known is None:
            pending[key] = row
            continue
        for name in COUNTERS:
            known[name] += row[name]
        known["label"] = row["label"] or known["label"]


# The counts a transaction added, by row: written by one upsert, in key order, just before it commits. Every step of a
# project's day adds to the same few rows (its ``all`` row and its department's and category's, the company's, their
# months); an upsert locks them until the commit, so written while the step still had its other writes to do, the
# next step of the day waited for all of them (bench/http_load.py, pg_locks). Still in the step's one transaction:
# figures and state move together, and a rolled-back step adds nothing.
_PENDING = "kefu_pending_counts"


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    rows = [pending[key] for key in sorted(pending or ()) if any(pending[key][name] for name in COUNTERS)]
    if rows:  # (counts that cancelled out within the transaction add nothing)
        _write(rows, session.connection())


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or closed (a commit wrote them already)
        session.info.pop(_PENDING, None)


def _write(rows: list[dict[str, Any]], connection: Connection) -> None:
    """Add ``rows`` (sorted: two steps never wait on each other crosswise) to the counters, in one upsert."""
    if connection.dialect.name == "postgresql" and _distinct_keys(rows):
        # The rows as one JSON document: one statement and one parameter to send, not one statement a row.
        connection.execute(_PG_JSON_UPSERT, {"rows": json.dumps(rows, default=date.isoformat)})
    else:
        connection.execute(_UPSERTS[connection.dialect.name], rows)


def _distinct_keys(rows: list[dict[str, Any]]) -> bool:
    """Whether no two rows have the same key (two values cut to the same first 160 characters would)."""
    return len({(row["dimension"], row["day"], row["project_key"], row["value"]) for row in rows}) == len(rows)


def counter_rows(changes: Mapping[Key, Mapping[str, int]], labels: Mapping[Key, str]) -> list[dict[str, Any]]:
    """The rows ``changes`` (of projects' days) add to: theirs, the company's and the months of both, sorted."""
    changes = _with_months(_with_company_totals(changes))
    labels = {**labels, **{(k[0], k[1], COMPANY, k[3]): label for k, label in labels.items()}}
    labels = {**labels, **{(month_of(k[0]), k[1].replace(day=1), k[2], k[3]): label for k, label in labels.items()}}
    return [{"dimension": key[0], "day": key[1], "project_key": key[2], "value": key[3][:160],
             "label": labels.get(key), **{name: int(counts.get(name, 0)) for name in COUNTERS}}
            for key, counts in sorted(changes.items()) if any(counts.values())]


def _upsert(insert: Any) -> Any:
    """Add the counters to an existing row (one statement, built once: compiling it per step would cost more
    than running it)."""
    statement = insert(DAILY)
    return statement.on_conflict_do_update(
        index_elements=[DAILY.c.dimension, DAILY.c.day, DAILY.c.project_key, DAILY.c.value],
        set_={name: DAILY.c[name] + statement.excluded[name] for name in COUNTERS})


_UPSERTS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
_DAILY_COLUMNS = ("dimension", "day", "project_key", "value", "label", *COUNTERS)


def _json_upsert() -> Any:
    """PostgreSQL: ``_upsert`` of rows given as one JSON array (``jsonb_to_recordset``), in their order. The rows' keys
    are distinct (``counter_rows`` makes one row a key), as one INSERT's rows must be."""
    given = func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), postgresql.JSONB))
    rows = given.table_valued(*(column(name, DAILY.c[name].type) for name in _DAILY_COLUMNS)).render_derived(
        with_types=True)
    statement = postgresql.insert(DAILY).from_select(_DAILY_COLUMNS, select(*(rows.c[name] for name in _DAILY_COLUMNS)))
    return statement.on_conflict_do_update(
        index_elements=[DAILY.c.dimension, DAILY.c.day, DAILY.c.project_key, DAILY.c.value],
        set_={name: DAILY.c[name] + statement.excluded[name] for name in COUNTERS})


_PG_JSON_UPSERT = _json_upsert()


def _with_company_totals(changes: Mapping[Key, Mapping[str, int]]) -> dict[Key, dict[str, int]]:
    result: dict[Key, dict[str, int]] = {key: dict(counts) for key, counts in changes.items()}
    for (dimension, day, project_key, value), counts in changes.items():
        if project_key == COMPANY:
            continue
        total = result.setdefault((dimension, day, COMPANY, value), {})
        for name, count in counts.items():
            total[name] = total.get(name, 0) + count
    return result


def _with_months(changes: Mapping[Key, Mapping[str, int]]) -> dict[Key, dict[str, int]]:
    """The changes and the same counts added to each day's month row."""
    result: dict[Key, dict[str, int]] = {key: dict(counts) for key, counts in changes.items()}
    for (dimension, day, project_key, value), counts in changes.items():
        month = result.setdefault((month_of(dimension), day.replace(day=1), project_key, value), {})
        for name, count in counts.items():
            month[name] = month.get(name, 0) + count
    return result


def rebuild(*, timezone: str, batch: int = 5000) -> int:
    """Recount everything from the tickets and their completed tasks (a database whose tickets predate the
    counters, or a repair). Keeps the hot spots classified so far. Commits; returns the tickets counted."""
    zone = ZoneInfo(timezone)
    known: dict[int, str] = {row[0]: row[1] for row in db.session.execute(select(FACTS.c.ticket_id, FACTS.c.hot_spot))}
    last_events: dict[int, int] = {row[0]: row[1] for row in db.session.execute(
        select(EVENTS.c.instance_id, func.max(EVENTS.c.id)).where(EVENTS.c.action == "complete")
        .group_by(EVENTS.c.instance_id))}
    duplicates = second_dispatches(batch)
    db.session.info.pop(_PENDING, None)  # counted again below, from the tickets as this transaction sees them
    db.session.execute(delete(DAILY))
    db.session.execute(delete(FACTS))
    totals: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[Key, str] = {}
    facts_rows = []
    for ticket in db.session.execute(select(Ticket.__table__).order_by(Ticket.id)).yield_per(batch):
        facts = facts_of(ticket, zone, hot_spot=hot_spot_of(ticket.category, ticket.part, {}, known.get(ticket.id, "")),
                         duplicate_dispatch=ticket.id in duplicates)
        facts_rows.append({"ticket_id": ticket.id, "counted_event_id": last_events.get(ticket.instance_id, 0),
                           **asdict(facts)})
        _merge(totals, contributions(facts))
    done = db.session.execute(
        select(HumanTask.process_id, HumanTask.element_id, HumanTask.title, HumanTask.created_at,
               HumanTask.completed_at, HumanTask.completed_by_id, Ticket.project_key)
        .join(Ticket, Ticket.instance_id == HumanTask.instance_id)
        .where(HumanTask.state == "completed", HumanTask.completed_at.is_not(None))).yield_per(batch)
    for task in done:
        for key, (counts, label) in _task_times([task], task.project_key, zone).items():
            _merge(totals, {key: counts})
            if label:
                labels[key] = label
    for start in range(0, len(facts_rows), batch):
        db.session.execute(FACTS.insert(), facts_rows[start:start + batch])
    items = list(totals.items())
    for start in range(0, len(items), batch):
        rows = counter_rows(dict(items[start:start + batch]), labels)
        if rows:
            _write(rows, db.session.connection())
    db.session.commit()
    return len(facts_rows)


def _merge(totals: dict[Key, dict[str, int]], changes: Mapping[Key, Mapping[str, int]]) -> None:
    for key, counts in changes.items():
        for name, count in counts.items():
            totals[key][name] += count
