"""The figures dashboard (/admin/dashboard): the daily counters of ``figures/counters.py`` summed per slice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, union_all

from app.extensions import db
from app.models import User
from app.services.figures.counters import COMPANY, COUNTERS, DAILY, MONTH, VALUE_DIMENSIONS, month_of
from app.services.outreach.callback_plans import PlannedSatisfaction, planned_satisfaction
from app.services.settings import get_setting


@dataclass(frozen=True)
class Figures:
    """Summed counters of one slice, with the rates the managers measure (None when nothing to divide)."""

    received: int = 0
    closed_of_received: int = 0
    closed: int = 0
    closed_in_time: int = 0
    closed_first_time: int = 0
    callbacks_attempted: int = 0
    callbacks_reached: int = 0
    satisfied: int = 0
    repeat_repairs: int = 0
    attached_calls: int = 0
    reopened: int = 0
    escalated: int = 0
    closed_with_limit: int = 0
    duplicate_dispatches: int = 0
    tasks_done: int = 0
    task_seconds: int = 0

    @property
    def completion_rate(self) -> float | None:  # 办结率
        return _ratio(self.closed_of_received, self.received)

    @property
    def timeliness_rate(self) -> float | None:  # 及时率: tickets without a time limit are outside it
        return _ratio(self.closed_in_time, self.closed_with_limit)

    @property
    def closed_without_limit(self) -> int:
        return self.closed - self.closed_with_limit

    @property
    def satisfaction_rate(self) -> float | None:  # 满意率
        return _ratio(self.satisfied, self.callbacks_reached)

    @property
    def first_time_rate(self) -> float | None:  # 一次关闭率
        return _ratio(self.closed_first_time, self.closed)

    @property
    def callback_rate(self) -> float | None:  # 回访率
        return _ratio(self.callbacks_reached, self.callbacks_attempted)

    @property
    def average_task_hours(self) -> float | None:
        return self.task_seconds / self.tasks_done / 3600 if self.tasks_done else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Slice:
    value: str
    label: str | None
    figures: Figures


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    project_key: str | None
    totals: Figures
    days: list[tuple[date, Figures]]
    by_project: list[Slice]
    by_department: list[Slice]
    by_category: list[Slice]
    hot_spots: list[Slice]
    stages: list[Slice]
    people: list[Slice]
    planned_callbacks: PlannedSatisfaction | None = None  # 定期回访 by project, department, technician


def dashboard(*, start: date, end: date, project_key: str | None = None,
              allowed_projects: Iterable[str] | None = None, timezone: str = "Asia/Shanghai",
              months: bool = True) -> Dashboard:
    """The figures of business days ``start``..``end`` (inclusive), for one project or every visible one.

    The chart's days are the day rows; the slices (departments, categories, hot spots, stages, people, projects)
    sum the month rows of the months in the period and the day rows of its partial edges (``_periods``), a year
    in some 14 rows per slice instead of 365. ``months=False`` sums day rows only (the bench's "before").
    """
    if project_key:
        scope = DAILY.c.project_key == project_key
    elif allowed_projects is not None:
        scope = DAILY.c.project_key.in_(list(allowed_projects))
    else:
        scope = DAILY.c.project_key == COMPANY
    days_only = _Periods([], [(start, end)], [])
    by_day = {row[0]: row[2] for row in _grouped(DAILY.c.day, DAILY.c.dimension == "all",
                                                 DAILY.c.day.between(start, end), scope)}
    values: dict[str, list[Slice]] = defaultdict(list)
    for (dimension, value), label, figures in _summed(_periods(start, end) if months else days_only,
                                                      ("dimension", "value"), VALUE_DIMENSIONS, scope):
        values[dimension].append(Slice(value, label, figures))
    by_project: list[Slice] = []
    if not project_key:
        visible = DAILY.c.project_key.in_(list(allowed_projects)) if allowed_projects is not None else (
            DAILY.c.project_key != COMPANY)
        periods = _periods(start, end, subtract=False) if months else days_only  # a project has one row a day
        by_project = [Slice(v, None, f) for v, _, f in _summed(periods, ("project_key",), ("all",), visible)]
    names = _user_names([s.value for s in values["user"]])
    return Dashboard(
        start, end, project_key, totals=_total(by_day.values()),
        days=[(start + timedelta(days=n), by_day.get(start + timedelta(days=n), Figures()))
              for n in range((end - start).days + 1)],
        by_project=by_project, by_department=values["department"], by_category=values["category"],
        hot_spots=sorted(values["hot_spot"], key=lambda s: -s.figures.received),
        stages=sorted(values["element"], key=lambda s: -(s.figures.average_task_hours or 0)),
        people=sorted((Slice(s.value, names.get(s.value, s.value), s.figures) for s in values["user"]),
                      key=lambda s: -s.figures.tasks_done),
        planned_callbacks=planned_satisfaction(
            datetime.combine(start, time.min, ZoneInfo(timezone)),
            datetime.combine(end + timedelta(days=1), time.min, ZoneInfo(timezone)),
            project_keys=[project_key] if project_key else allowed_projects),
    )


SEARCHED_DAYS = 62  # a period's edges are read day by day up to this many days (two half months, with room)


@dataclass(frozen=True)
class _Periods:
    """A period as the rows that sum to it: whole months (their month rows, each named by its first day), day
    ranges added, and day ranges subtracted (the days outside the period of a month whose row is added, when
    there are fewer of them than inside)."""

    months: list[date]
    added: list[tuple[date, date]]
    subtracted: list[tuple[date, date]]


def _periods(start: date, end: date, *, subtract: bool = True) -> _Periods:
    """``start``..``end`` read from the fewest rows: a month inside the period is its month row; a month cut by
    the period's edge is its days inside, or (``subtract``) its month row less its days outside when they are
    fewer. Without ``subtract`` one plain statement is cheaper where a day has few rows (PostgreSQL plans the
    union of added and subtracted rows in parallel, whose start-up costs more than the rows it saves)."""
    months: list[date] = []
    added: list[tuple[date, date]] = []
    subtracted: list[tuple[date, date]] = []
    month = start.replace(day=1)
    while month <= end:
        last = _next_month(month) - timedelta(days=1)
        inside = (max(month, start), min(last, end))
        outside = [(a, b) for a, b in ((month, inside[0] - timedelta(days=1)), (inside[1] + timedelta(days=1), last))
                   if a <= b]
        outside_days = sum((b - a).days + 1 for a, b in outside)
        if outside_days == 0 or (subtract and outside_days < (inside[1] - inside[0]).days + 1):
            months.append(month)
            subtracted += outside
        else:
            added.append(inside)
        month = _next_month(month)
    return _Periods(months, added, subtracted)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _summed(periods: _Periods, group: tuple[str, ...], dimensions: tuple[str, ...],
            scope: Any) -> list[tuple[Any, str | None, Figures]]:
    """Summed counters per ``group`` (column names) over the period's month rows and day rows, in one statement
    (a month row's slice added to its days' here); slices that sum to nothing are left out."""
    added = [and_(DAILY.c.dimension.in_(dimensions), _days(periods.added))] if periods.added else []
    if periods.months:
        added.append(and_(DAILY.c.dimension.in_([month_of(d) for d in dimensions]), DAILY.c.day.in_(periods.months)))
    parts = [_rows(or_(*added), scope, negated=False)]
    if periods.subtracted:
        parts.append(_rows(and_(DAILY.c.dimension.in_(dimensions), _days(periods.subtracted)), scope, negated=True))
    rows_read = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    columns = [rows_read.c[name] for name in group]
    statement = select(*columns, func.max(rows_read.c.label), *[func.sum(rows_read.c[name]) for name in COUNTERS])
    summed: dict[Any, list[int]] = {}
    labels: dict[Any, str] = {}
    for row in db.session.execute(statement.group_by(*columns)):
        key = tuple(value.removeprefix(MONTH) if name == "dimension" else value
                    for name, value in zip(group, row, strict=False))
        counts = [int(count or 0) for count in row[len(group) + 1:]]
        known = summed.setdefault(key, [0] * len(counts))
        summed[key] = [a + b for a, b in zip(known, counts, strict=True)]
        if row[len(group)] is not None:
            labels[key] = max(row[len(group)], labels.get(key, ""))
    return [(key if len(group) > 1 else key[0], labels.get(key), Figures(*counts))
            for key, counts in sorted(summed.items()) if any(counts)]


def _days(ranges: list[tuple[date, date]]) -> Any:
    """The rows of these days: a short list as the days themselves (the primary key is searched for each
    dimension, day and project instead of scanning every project's rows of a day range)."""
    if sum((last - first).days + 1 for first, last in ranges) > SEARCHED_DAYS:
        return or_(*[DAILY.c.day.between(first, last) for first, last in ranges])
    return DAILY.c.day.in_([first + timedelta(days=n) for first, last in ranges
                            for n in range((last - first).days + 1)])


def _rows(condition: Any, scope: Any, *, negated: bool) -> Any:
    """The counter rows read (negated: to subtract them)."""
    return select(DAILY.c.dimension, DAILY.c.project_key, DAILY.c.value, DAILY.c.label,
                  *[(-DAILY.c[name] if negated else DAILY.c[name]).label(name) for name in COUNTERS]
                  ).where(condition, scope)


def _grouped(group: Any, *conditions: Any) -> list[tuple[Any, str | None, Figures]]:
    """Summed counters per ``group`` (a column or a tuple of columns): (group value, a label, figures)."""
    columns = group if isinstance(group, tuple) else (group,)
    rows = db.session.execute(
        select(*columns, func.max(DAILY.c.label), *[func.sum(DAILY.c[name]) for name in COUNTERS])
        .where(*conditions).group_by(*columns).order_by(*columns)
    ).all()
    width = len(columns)
    return [(tuple(row[:width]) if width > 1 else row[0], row[width],
             Figures(*(int(count or 0) for count in row[width + 1:]))) for row in rows]


def _total(figures: Iterable[Figures]) -> Figures:
    sums = dict.fromkeys(COUNTERS, 0)
    for item in figures:
        for name in COUNTERS:
            sums[name] += getattr(item, name)
    return Figures(**sums)


def _user_names(ids: list[str]) -> dict[str, str]:
    """Names of the people counted (read as one list: cheaper than binding hundreds of ids)."""
    if not ids:
        return {}
    wanted = set(ids)
    users = User.__table__
    return {str(user_id): name for user_id, name in db.session.execute(select(users.c.id, users.c.display_name))
            if str(user_id) in wanted}


# The rates with a target (seed 004: 办结率 100 %, 及时率 100 %, 满意率 ≥ 98 %), each an admin setting.
TARGET_SETTINGS = {"completion_rate": "target_closure_rate", "timeliness_rate": "target_on_time_rate",
                   "satisfaction_rate": "target_satisfaction_rate"}


def targets() -> dict[str, int]:
    """Each targeted rate's target, in percent (/admin/settings)."""
    return {rate: int(get_setting(key)) for rate, key in TARGET_SETTINGS.items()}


def group_days(days: list[tuple[date, Figures]], period: str) -> list[tuple[date, Figures]]:
    """Daily figures summed per ISO week (``week``, keyed by Monday) or month (``month``); ``day`` as they are."""
    if period not in ("week", "month"):
        return days
    grouped: dict[date, list[Figures]] = defaultdict(list)
    for day, figures in days:
        first = day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)
        grouped[first].append(figures)
    return [(first, _total(items)) for first, items in sorted(grouped.items())]
