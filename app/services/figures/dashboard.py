"""The figures dashboard (/admin/dashboard): the daily counters of ``figures/counters.py`` summed per slice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import attrgetter, itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.figures import counter_sums as sums
from app.services.figures.counters import COUNTERS
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
    sum the month rows of the months in the period and the day rows of its partial edges
    (``counter_sums.periods``), a year in some 14 rows per slice instead of 365, all in one statement
    (``counter_sums.slices_statement``). ``months=False`` sums day rows only (the bench's "before").
    """
    allowed = None if allowed_projects is None else list(allowed_projects)
    scope = "one" if project_key else "company" if allowed is None else "among"
    if db.session.get_bind().dialect.name == "postgresql":
        # Each statement reads a few thousand rows: parallel workers would cost more to start than they save.
        db.session.execute(sums.SERIAL)
    params: dict[str, Any] = {"project": project_key, "projects": allowed or []}
    by_day = _days_summed(start, end, scope, params)
    days_only = sums.Periods([], [(start, end)], [])
    periods = sums.periods(start, end) if months else days_only
    shapes = [(sums.Sliced(dimension, "value", counted, scope, "s"), sums.shape_of(periods))
              for dimension, counted in sums.SLICED.items()]
    params.update(sums.period_params("s", periods))
    if not project_key:
        # a project has one row a day: its edges are cheaper read as days than as a month less its days
        project_periods = sums.periods(start, end, subtract=False) if months else days_only
        shapes.append((sums.Sliced("all", "project_key", COUNTERS, "others" if allowed is None else "among", "p"),
                       sums.shape_of(project_periods)))
        params.update(sums.period_params("p", project_periods))
    values = _slices(sums.slices_statement(tuple(shapes)), params)
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


def _slices(statement: Any, params: dict[str, Any]) -> dict[str, list[Slice]]:
    """The slices of every dimension (``all``: the projects), in value order; slices that sum to nothing are left
    out."""
    result: dict[str, list[Slice]] = defaultdict(list)
    for dimension, value, label, *counts in sorted(db.session.execute(statement, params), key=_KEY):
        if any(counts):
            result[dimension].append(Slice(value, label, Figures(*counts)))
    return result


_KEY = itemgetter(0, 1)


def _days_summed(start: date, end: date, scope: str, params: dict[str, Any]) -> dict[date, tuple[int, ...]]:
    """The ``all`` rows of each day ``start``..``end`` in ``scope``, summed: day -> counters in ``COUNTERS``' order."""
    rows = db.session.execute(sums.days_statement(scope), {**params, "start": start, "end": end})
    return {row[0]: tuple(row[1:]) for row in rows}


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
