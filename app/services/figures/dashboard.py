"""The figures dashboard (/admin/dashboard): the daily counters of ``figures/counters.py`` summed per slice."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import attrgetter, itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, bindparam, cast, func, literal_column, null, or_, select, text, union_all

from app.extensions import db
from app.models import User
from app.services.figures.counters import COMPANY, COUNTERS, DAILY, TICKET_COUNTERS, month_of
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
    in some 14 rows per slice instead of 365, all in one statement (``_slices``). ``months=False`` sums day rows
    only (the bench's "before").
    """
    allowed = None if allowed_projects is None else list(allowed_projects)
    scope = "one" if project_key else "company" if allowed is None else "among"
    if db.session.get_bind().dialect.name == "postgresql":
        # Each statement reads a few thousand rows: parallel workers would cost more to start than they save.
        db.session.execute(_SERIAL)
    params: dict[str, Any] = {"project": project_key, "projects": allowed or []}
    by_day = _days_summed(start, end, scope, params)
    days_only = _Periods([], [(start, end)], [])
    periods = _periods(start, end) if months else days_only
    shapes = [(_Sliced(dimension, "value", counted, scope, "s"), _shape(periods))
              for dimension, counted in SLICED.items()]
    params.update(_period_params("s", periods))
    if not project_key:
        # a project has one row a day: its edges are cheaper read as days than as a month less its days
        project_periods = _periods(start, end, subtract=False) if months else days_only
        shapes.append((_Sliced("all", "project_key", COUNTERS, "others" if allowed is None else "among", "p"),
                       _shape(project_periods)))
        params.update(_period_params("p", project_periods))
    values = _slices(_slices_statement(tuple(shapes)), params)
    names = _user_names([s.value for s in values["user"]])
    empty = Figures()
    return Dashboard(
        start, end, project_key, totals=Figures(*map(sum, zip(*by_day.values(), strict=False))),
        days=[(day, Figures(*by_day[day]) if day in by_day else empty)
              for day in (start + timedelta(days=n) for n in range((end - start).days + 1))],
        by_project=values["all"], by_department=values["department"], by_category=values["category"],
        hot_spots=sorted(values["hot_spot"], key=lambda s: -s.figures.received),
        stages=sorted(values["element"], key=lambda s: -(s.figures.average_task_hours or 0)),
        people=sorted((Slice(s.value, names.get(s.value, s.value), s.figures) for s in values["user"]),
                      key=lambda s: -s.figures.tasks_done),
        planned_callbacks=planned_satisfaction(
            datetime.combine(start, time.min, ZoneInfo(timezone)),
            datetime.combine(end + timedelta(days=1), time.min, ZoneInfo(timezone)),
            project_keys=[project_key] if project_key else allowed),
    )


TASK_COUNTERS = ("tasks_done", "task_seconds")
# The slices' dimensions and what their rows count (``counters.py``): a department's and a category's the tickets, a
# hot spot's the tickets received, a stage's and a person's the tasks done and their time. A slice sums only these
# (the others are zero): the sums of a year's people are most of the dashboard's work.
SLICED = {"department": TICKET_COUNTERS, "category": TICKET_COUNTERS, "hot_spot": ("received",),
          "element": TASK_COUNTERS, "user": TASK_COUNTERS}
LABELLED = "element"  # only a step's rows carry a label (its title)
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


@dataclass(frozen=True)
class _Sliced:
    """Slices summed alike: the rows of ``dimension`` (``all``: the projects) in ``scope`` (``_scope``) over the
    period of the parameters named ``prefix`` (``_period_params``), one slice per ``key`` (a column's name),
    ``counted`` the counters they hold."""

    dimension: str
    key: str
    counted: tuple[str, ...]
    scope: str
    prefix: str


_Shape = tuple[bool, int, int]  # a period's month rows (any), days added and subtracted (``_days_shape``)


def _slices(statement: Any, params: dict[str, Any]) -> dict[str, list[Slice]]:
    """The slices of every dimension (``all``: the projects), in value order; slices that sum to nothing are left
    out."""
    result: dict[str, list[Slice]] = defaultdict(list)
    for dimension, value, label, *counts in sorted(db.session.execute(statement, params), key=_KEY):
        if any(counts):
            result[dimension].append(Slice(value, label, Figures(*counts)))
    return result


_KEY = itemgetter(0, 1)


@functools.cache
def _slices_statement(shapes: tuple[tuple[_Sliced, _Shape], ...]) -> Any:
    """One statement for every slice, its days and projects as parameters: built once a shape (building it costs
    more than SQLite takes to run it)."""
    return union_all(*[_sums(sliced, shape) for sliced, shape in shapes])


def _sums(sliced: _Sliced, shape: _Shape) -> Any:
    """(dimension, value, label, every counter in ``COUNTERS``' order) per slice: its month rows, the days added
    and the days subtracted as one list of rows, grouped by the slice's value alone (a group key of one column and
    no OR of index searches: SQLite sorts the rows of a year's people in a third of the time)."""
    dimension, prefix = sliced.dimension, sliced.prefix
    months, added, subtracted = shape
    parts = []
    if months:
        parts.append(_rows(sliced, DAILY.c.dimension == month_of(dimension),
                           DAILY.c.day.in_(bindparam(f"{prefix}_months", expanding=True))))
    if added:
        parts.append(_rows(sliced, DAILY.c.dimension == dimension, _days(f"{prefix}_added", added)))
    if subtracted:
        parts.append(_rows(sliced, DAILY.c.dimension == dimension, _days(f"{prefix}_subtracted", subtracted),
                           negated=True))
    rows: Any = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    label: Any = func.max(rows.c.label) if dimension == LABELLED else null()
    sums: list[Any] = [cast(func.sum(rows.c[name]), BigInteger) if name in sliced.counted else literal_column("0")
                       for name in COUNTERS]
    return select(literal_column(f"'{dimension}'"), rows.c.value, label, *sums).group_by(rows.c.value)


def _rows(sliced: _Sliced, *conditions: Any, negated: bool = False) -> Any:
    """The counter rows read (negated: to subtract them), with only the counted counters."""
    return select(DAILY.c[sliced.key].label("value"), *([DAILY.c.label] if sliced.dimension == LABELLED else []),
                  *[(-DAILY.c[name] if negated else DAILY.c[name]).label(name) for name in sliced.counted]
                  ).where(*conditions, _scope(sliced.scope))


def _scope(scope: str) -> Any:
    """The rows of ``one`` project (parameter ``project``), of projects ``among`` a list (``projects``), of the
    whole ``company`` (its own rows), or of each project but the company's (``others``)."""
    return {"one": DAILY.c.project_key == bindparam("project"),
            "among": DAILY.c.project_key.in_(bindparam("projects", expanding=True)),
            "company": DAILY.c.project_key == COMPANY, "others": DAILY.c.project_key != COMPANY}[scope]


def _shape(periods: _Periods) -> _Shape:
    return bool(periods.months), _days_shape(periods.added), _days_shape(periods.subtracted)


def _days_shape(ranges: list[tuple[date, date]]) -> int:
    """How ``_days`` reads these days: none (0), as a list of days (-1) or as so many ranges."""
    if not ranges:
        return 0
    return len(ranges) if sum((last - first).days + 1 for first, last in ranges) > SEARCHED_DAYS else -1


def _days(name: str, shape: int) -> Any:
    """The rows of the days of parameter ``name``: a short list as the days themselves (the primary key is
    searched for each dimension, day and project instead of scanning every project's rows of a day range), a
    longer one as ranges (``name_<n>_first``, ``name_<n>_last``)."""
    if shape < 0:
        return DAILY.c.day.in_(bindparam(name, expanding=True))
    return or_(*[DAILY.c.day.between(bindparam(f"{name}_{n}_first"), bindparam(f"{name}_{n}_last"))
                 for n in range(shape)])


def _period_params(prefix: str, periods: _Periods) -> dict[str, Any]:
    """The parameters of ``_sums`` for ``periods``."""
    params: dict[str, Any] = {f"{prefix}_months": periods.months}
    for name, ranges in ((f"{prefix}_added", periods.added), (f"{prefix}_subtracted", periods.subtracted)):
        if _days_shape(ranges) < 0:
            params[name] = [first + timedelta(days=n) for first, last in ranges
                            for n in range((last - first).days + 1)]
        else:
            for n, (first, last) in enumerate(ranges):
                params.update({f"{name}_{n}_first": first, f"{name}_{n}_last": last})
    return params


_SERIAL = text("SET LOCAL max_parallel_workers_per_gather = 0")


def _days_summed(start: date, end: date, scope: str, params: dict[str, Any]) -> dict[date, tuple[int, ...]]:
    """The ``all`` rows of each day ``start``..``end`` in ``scope``, summed: day -> counters in ``COUNTERS``' order."""
    rows = db.session.execute(_days_statement(scope), {**params, "start": start, "end": end})
    return {row[0]: tuple(row[1:]) for row in rows}


@functools.cache
def _days_statement(scope: str) -> Any:
    # Projects among a list are filtered rather than searched in the primary key: over a range of days,
    # PostgreSQL would search the key once per project, each search reading every project's index entries of the
    # range (the key's project follows its day); filtered, they are read once.
    where = (func.coalesce(DAILY.c.project_key, "").in_(bindparam("projects", expanding=True)) if scope == "among"
             else _scope(scope))
    return (select(DAILY.c.day, *[cast(func.sum(DAILY.c[name]), BigInteger) for name in COUNTERS])
            .where(DAILY.c.dimension == "all", DAILY.c.day.between(bindparam("start"), bindparam("end")), where)
            .group_by(DAILY.c.day))


def _total(figures: Iterable[Figures]) -> Figures:
    return Figures(*map(sum, zip(*map(_COUNTS, figures), strict=False)))


_COUNTS = attrgetter(*COUNTERS)


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
