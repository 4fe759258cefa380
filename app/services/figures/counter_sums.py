"""The dashboard's statements over the counters of ``figures/counters.py``: a period as month rows and day rows, every
slice summed in one statement, the chart's days; each built once per shape, its days and projects as parameters."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, cast, func, literal_column, null, or_, select, text, union_all

from app.services.figures.counters import COMPANY, COUNTERS, DAILY, TICKET_COUNTERS, month_of

TASK_COUNTERS = ("tasks_done", "task_seconds")
# The slices' dimensions and what their rows count (``counters.py``): a department's and a category's the tickets, a
# hot spot's the tickets received, a stage's and a person's the tasks done and their time. A slice sums only these
# (the others are zero): the sums of a year's people are most of the dashboard's work.
SLICED = {"department": TICKET_COUNTERS, "category": TICKET_COUNTERS, "hot_spot": ("received",),
          "element": TASK_COUNTERS, "user": TASK_COUNTERS}
LABELLED = "element"  # only a step's rows carry a label (its title)
SEARCHED_DAYS = 62  # a period's edges are read day by day up to this many days (two half months, with room)


@dataclass(frozen=True)
class Periods:
    """A period as the rows that sum to it: whole months (their month rows, each named by its first day), day
    ranges added, and day ranges subtracted (the days outside the period of a month whose row is added, when
    there are fewer of them than inside)."""

    months: list[date]
    added: list[tuple[date, date]]
    subtracted: list[tuple[date, date]]


def periods(start: date, end: date, *, subtract: bool = True) -> Periods:
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
    return Periods(months, added, subtracted)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Sliced:
    """Slices summed alike: the rows of ``dimension`` (``all``: the projects) in ``scope`` (``_scope``) over the
    period of the parameters named ``prefix`` (``period_params``), one slice per ``key`` (a column's name),
    ``counted`` the counters they hold."""

    dimension: str
    key: str
    counted: tuple[str, ...]
    scope: str
    prefix: str


Shape = tuple[bool, int, int]  # a period's month rows (any), days added and subtracted (``_days_shape``)


@functools.cache
def slices_statement(shapes: tuple[tuple[Sliced, Shape], ...]) -> Any:
    """One statement for every slice, its days and projects as parameters: built once a shape (building it costs
    more than SQLite takes to run it)."""
    return union_all(*[_sums(sliced, shape) for sliced, shape in shapes])


def _sums(sliced: Sliced, shape: Shape) -> Any:
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


def _rows(sliced: Sliced, *conditions: Any, negated: bool = False) -> Any:
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


def shape_of(periods: Periods) -> Shape:
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


def period_params(prefix: str, periods: Periods) -> dict[str, Any]:
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


SERIAL = text("SET LOCAL max_parallel_workers_per_gather = 0")


# The ``all`` rows, with 'all' written in the SQL rather than bound: a partial index on them
# (ix_kpi_daily_all_project_day, by project then day) applies only when the statement says so itself, in a prepared
# statement's generic plan on PostgreSQL as on SQLite.
_ALL_ROWS = DAILY.c.dimension == literal_column("'all'", DAILY.c.dimension.type)


@functools.cache
def days_statement(scope: str) -> Any:
    # Projects among a list are read from ix_kpi_daily_all_project_day, one range of days per project (the primary
    # key orders a day's rows by project after the day: a year of every project's rows would be read to keep these).
    return (select(DAILY.c.day, *[cast(func.sum(DAILY.c[name]), BigInteger) for name in COUNTERS])
            .where(_ALL_ROWS, DAILY.c.day.between(bindparam("start"), bindparam("end")), _scope(scope))
            .group_by(DAILY.c.day))
