"""Working-time arithmetic: office hours, working days, holidays and make-up working days (调休).

Pure: no database, no Flask, no holiday library. A ``WorkingCalendar`` is data (which days differ
from the Monday-to-Friday rule, and the office hours); the services build it from the
``chinese-calendar`` package and the admin's overrides, and the script environment reads it the
way it reads the clock.

Working time runs only inside office hours on working days. ``working_days`` counts whole office
days: N working days are N times the length of an office day, so a limit opened at 15:00 ends at
15:00 on the N-th working day after, and one opened after hours ends at the close of the N-th
working day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

HOURS = "hours"
WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
UNITS = (HOURS, WORKING_HOURS, WORKING_DAYS)

DEFAULT_OFFICE_HOURS = "09:00-18:00"
_LONGEST_SEARCH = timedelta(days=3 * 366)  # a limit that needs more office days than this is a mistake
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class WorkingTimeError(ValueError):
    """An unknown unit, a negative amount, or office hours that cannot be read."""


@dataclass(frozen=True)
class OfficeHours:
    """The periods of a working day, in local time, in order and not overlapping."""

    periods: tuple[tuple[time, time], ...]

    @property
    def hours_per_day(self) -> float:
        return sum(_span(start, end) for start, end in self.periods) / 3600

    @classmethod
    def parse(cls, day: str, lunch_break: str | None = None) -> OfficeHours:
        """``parse("09:00-18:00", "12:00-13:00")``; raise WorkingTimeError naming what is wrong."""
        start, end = _parse_period(day)
        if not lunch_break or not lunch_break.strip():
            return cls(((start, end),))
        lunch_start, lunch_end = _parse_period(lunch_break)
        if not start < lunch_start < lunch_end < end:
            raise WorkingTimeError(f"the lunch break {lunch_break!r} must lie inside the office hours {day!r}")
        return cls(((start, lunch_start), (lunch_end, end)))

    def describe(self) -> str:
        return ", ".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in self.periods)


def _parse_period(text: str) -> tuple[time, time]:
    match = _PERIOD.match(text or "")
    if match is None:
        raise WorkingTimeError(f"office hours {text!r} are not written as HH:MM-HH:MM")
    hour_1, minute_1, hour_2, minute_2 = (int(part) for part in match.groups())
    if hour_1 > 23 or hour_2 > 23 or minute_1 > 59 or minute_2 > 59:
        raise WorkingTimeError(f"office hours {text!r} name a time that does not exist")
    start, end = time(hour_1, minute_1), time(hour_2, minute_2)
    if start >= end:
        raise WorkingTimeError(f"office hours {text!r} end before they start")
    return start, end


def _span(start: time, end: time) -> float:
    return (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds()


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, and the office hours of each.

    ``special_days`` maps a date to whether it is a working day where the calendar says so
    explicitly (statutory holidays: False; make-up working days: True); every other date follows
    the weekend rule. ``known_years`` are the years some source describes; any other year is
    weekends only.
    """

    office_hours: OfficeHours = field(default_factory=lambda: OfficeHours.parse(DEFAULT_OFFICE_HOURS))
    timezone: str = "Asia/Shanghai"
    special_days: Mapping[date, bool] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    known_years: frozenset[int] = frozenset()

    def is_working_day(self, day: date) -> bool:
        explicit = self.special_days.get(day)
        return explicit if explicit is not None else day.weekday() < 5

    def is_year_known(self, year: int) -> bool:
        return year in self.known_years

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        """``start`` plus ``amount`` of ``unit`` (hours | working_hours | working_days), in start's zone."""
        if unit not in UNITS:
            raise WorkingTimeError(f"unknown time unit {unit!r}: use one of {', '.join(UNITS)}")
        if start.tzinfo is None:
            raise WorkingTimeError(f"{start.isoformat()} has no time zone offset")
        amount = float(amount)
        if amount < 0:
            raise WorkingTimeError(f"a time limit cannot be negative ({amount})")
        if unit == HOURS:
            return start + timedelta(hours=amount)
        hours = amount * self.office_hours.hours_per_day if unit == WORKING_DAYS else amount
        return self.add_working_hours(start, timedelta(hours=hours))

    def add_working_hours(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of office time after ``start`` has passed (the clock stops outside)."""
        if duration <= timedelta(0):
            return start
        zone = ZoneInfo(self.timezone)
        cursor = start.astimezone(UTC)
        remaining = duration
        first_day = start.astimezone(zone).date()
        for day in _days_from(first_day):
            if day - first_day > _LONGEST_SEARCH:
                break
            if not self.is_working_day(day):
                continue
            for opens, closes in self.office_hours.periods:
                period_start = max(datetime.combine(day, opens, tzinfo=zone).astimezone(UTC), cursor)
                period_end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
                if period_start >= period_end:
                    continue
                if remaining <= period_end - period_start:
                    return (period_start + remaining).astimezone(start.tzinfo)
                remaining -= period_end - period_start
        raise WorkingTimeError(f"{duration} of working time does not fit in {_LONGEST_SEARCH.days} days")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours between two moments (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        zone = ZoneInfo(self.timezone)
        begin, finish = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        for day in _days_from(start.astimezone(zone).date()):
            if day > end.astimezone(zone).date():
                break
            if not self.is_working_day(day):
                continue
            for opens, closes in self.office_hours.periods:
                period_start = max(datetime.combine(day, opens, tzinfo=zone).astimezone(UTC), begin)
                period_end = min(datetime.combine(day, closes, tzinfo=zone).astimezone(UTC), finish)
                if period_start < period_end:
                    total += period_end - period_start
        return total.total_seconds() / 3600


def _days_from(first: date) -> Iterator[date]:
    day = first
    while True:
        yield day
        day += timedelta(days=1)


WEEKENDS_ONLY = WorkingCalendar()
