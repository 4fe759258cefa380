"""The working calendar: China's statutory holidays and make-up days (调休), with the admin's overrides.

The ``chinese-calendar`` package knows the State Council's announcements up to its release; an
admin-edited table (``calendar_overrides``) wins over it, so a site that cannot upgrade the package
can still enter next year. A year neither knows is flagged and counts weekends only.

``CalendarCache`` is what the engine's scripts read (``add_working_time``): it rebuilds the calendar
when the override table changed, in this process or in any other (web workers, timer workers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import chinese_calendar
from sqlalchemy import func, literal_column, select
from sqlalchemy.exc import IntegrityError

from app.clock import Clock
from app.engine import OfficeHours, WorkingCalendar
from app.extensions import db
from app.models.calendar import HOLIDAY, WORKDAY, CalendarOverride
from app.models.calendar import OVERRIDE_KINDS as OVERRIDE_KINDS  # re-exported: the kinds the calendar page offers
from app.services.access import Actor
from app.services.errors import InvalidFormError, Message, NotFoundError, msg
from app.services.transaction_memo import TransactionMemo

MAX_NAME_LENGTH = 100


@lru_cache(maxsize=1)
def library_days() -> MappingProxyType[date, bool]:
    """What the installed package says: holidays are days off, make-up days are working days."""
    days = {day: False for day in chinese_calendar.holidays}
    days.update({day: True for day in chinese_calendar.workdays})
    return MappingProxyType(days)


@lru_cache(maxsize=1)
def library_years() -> frozenset[int]:
    return frozenset(day.year for day in library_days())


def build_calendar(overrides: Iterable[tuple[date, str]], office_hours: OfficeHours,
                   timezone: str) -> WorkingCalendar:
    """The library's days with ``overrides`` (day, kind) on top; a year with an override counts as known."""
    special = dict(library_days())
    years = set(library_years())
    for day, kind in overrides:
        special[day] = kind == WORKDAY
        years.add(day.year)
    return WorkingCalendar(office_hours, timezone, MappingProxyType(special), frozenset(years))


@dataclass
class CalendarCache:
    """The current ``WorkingCalendar``; call it. Reloads when the override table's (count, max id) moved."""

    office_hours: OfficeHours
    timezone: str
    _stamp: tuple[int, int] | None = None
    _calendar: WorkingCalendar | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> WorkingCalendar:
        stamp = _table_stamp()
        with self._lock:
            if self._calendar is not None and stamp == self._stamp:
                return self._calendar
        rows = db.session.execute(select(CalendarOverride.day, CalendarOverride.kind)).all()
        calendar = build_calendar(((day, kind) for day, kind in rows), self.office_hours, self.timezone)
        with self._lock:
            self._stamp, self._calendar = stamp, calendar
        return calendar


def _table_stamp() -> tuple[int, int]:
    """Changes on every add or remove: ids are never reused and rows are never edited. Read once per transaction:
    by the request's sign-in query (``STAMP_COLUMNS``), else here; an add or remove forgets it."""
    stamp = _stamp_read.get()
    if stamp is None:
        row = db.session.connection().execute(_TABLE_STAMP).one()
        stamp = (int(row.calendar_count), int(row.calendar_highest))
        _stamp_read.set(stamp)
    return stamp


def accept_stamp_of(row: Any) -> None:
    """``row`` carried STAMP_COLUMNS, read in the current transaction."""
    _stamp_read.set((int(row.calendar_count), int(row.calendar_highest)))


# Built once and run on the connection (Core): read by every step that computes a deadline in working time, or
# carried by the sign-in query of every request (``people.auth``), so a request's deadlines in working time cost no
# read of their own while nothing changed.
_OVERRIDES = CalendarOverride.__table__
STAMP_COLUMNS = (
    select(func.count(_OVERRIDES.c.id)).scalar_subquery().label("calendar_count"),
    select(func.coalesce(func.max(_OVERRIDES.c.id), literal_column("0"))).scalar_subquery().label("calendar_highest"),
)
_TABLE_STAMP = select(*STAMP_COLUMNS)
_stamp_read: TransactionMemo[tuple[int, int]] = TransactionMemo()


def make_calendar_cache(timezone: str, office_hours: str, lunch_break: str | None = None) -> CalendarCache:
    """From the settings OFFICE_HOURS and OFFICE_LUNCH_BREAK; raise WorkingTimeError when unreadable."""
    return CalendarCache(OfficeHours.parse(office_hours, lunch_break), timezone)


def list_overrides(year: int | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        query = query.where(CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
    return list(db.session.scalars(query))


def add_override(day_text: str, kind: str, name: str, *, user: Actor | None, clock: Clock) -> CalendarOverride:
    """Decide one day: a holiday or a make-up working day. Raise InvalidFormError naming each bad field."""
    day, errors = _parse_day(day_text)
    name = (name or "").strip()
    if kind not in OVERRIDE_KINDS:
        errors["kind"] = msg("choose a holiday or a make-up working day")
    if not name:
        errors["name"] = msg("give it a name, e.g. Spring Festival")
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = msg("at most %(limit)s characters", limit=MAX_NAME_LENGTH)
    if day is not None and _override_on(day) is not None:
        errors["day"] = msg("%(day)s is already set; remove it first", day=day.isoformat())
    if errors or day is None:
        raise InvalidFormError(msg("the calendar entry is not valid"), errors=errors)
    override = CalendarOverride(day=day, kind=kind, name=name, created_by_id=user.id if user else None,
                                created_at=clock.now())
    db.session.add(override)
    _stamp_read.clear()  # the table changes: the stamp this transaction read (if any) is not its own anymore
    try:
        db.session.commit()
    except IntegrityError as exc:  # the same day added at the same moment by someone else
        db.session.rollback()
        raise InvalidFormError(msg("the calendar entry is not valid"), errors={
            "day": msg("%(day)s is already set", day=day.isoformat())}) from exc
    return override


def remove_override(override_id: int) -> CalendarOverride:
    """Remove one override (the library's word applies to that day again); raise NotFoundError."""
    override = db.session.get(CalendarOverride, override_id)
    if override is None:
        raise NotFoundError(msg("no calendar entry %(override_id)s", override_id=override_id))
    db.session.delete(override)
    _stamp_read.clear()
    db.session.commit()
    return override


def _parse_day(text: str) -> tuple[date | None, dict[str, Message]]:
    try:
        return date.fromisoformat((text or "").strip()), {}
    except ValueError:
        return None, {"day": msg("enter a date as YYYY-MM-DD")}


def _override_on(day: date) -> CalendarOverride | None:
    return db.session.scalars(select(CalendarOverride).where(CalendarOverride.day == day)).first()


@dataclass(frozen=True)
class YearStatus:
    """Whether a year's holidays and make-up days are known, and from where."""

    year: int
    in_library: bool
    holidays: int  # override rows of each kind in that year
    workdays: int

    @property
    def is_known(self) -> bool:
        return self.in_library or self.holidays + self.workdays > 0


def year_statuses(years: Iterable[int]) -> list[YearStatus]:
    """Each year's status; an unknown year counts weekends only and wants the admin's attention."""
    counts: dict[tuple[int, str], int] = {}
    for override in list_overrides():
        counts[(override.day.year, override.kind)] = counts.get((override.day.year, override.kind), 0) + 1
    return [YearStatus(year, year in library_years(), counts.get((year, HOLIDAY), 0), counts.get((year, WORKDAY), 0))
            for year in sorted(set(years))]


def unknown_years(years: Iterable[int]) -> list[int]:
    """The years among ``years`` that neither the library nor the table knows."""
    return [status.year for status in year_statuses(years) if not status.is_known]


def years_to_watch(today: date) -> tuple[int, int]:
    """The years whose deadlines are being set now: this one and the next."""
    return today.year, today.year + 1


HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


@dataclass(frozen=True)
class CalendarDay:
    """A day that is not an ordinary weekday or weekend, and who says so (the library or the table)."""

    day: date
    kind: str  # holiday | workday
    name: str  # "国庆节 / National Day" from the library; as typed for an override
    override_id: int | None  # set when the admin's table decides this day

    @property
    def is_override(self) -> bool:
        return self.override_id is not None


@dataclass(frozen=True)
class CalendarOverview:
    year: int
    days: list[CalendarDay]
    statuses: list[YearStatus]  # this year, the next, and the year shown

    @property
    def unknown_years(self) -> list[int]:
        return [status.year for status in self.statuses if not status.is_known]


def calendar_overview(year: int, today: date) -> CalendarOverview:
    """The special days of ``year`` (overrides win) and whether the years being planned now are known."""
    overrides = {override.day: override for override in list_overrides(year)}
    days = [CalendarDay(day, WORKDAY if working else HOLIDAY, _library_name(day), None)
            for day, working in library_days().items() if day.year == year and day not in overrides]
    days += [CalendarDay(o.day, o.kind, o.name, o.id) for o in overrides.values()]
    return CalendarOverview(year, sorted(days, key=lambda entry: entry.day),
                            year_statuses({*years_to_watch(today), year}))


def _library_name(day: date) -> str:
    english = str(chinese_calendar.holidays.get(day) or chinese_calendar.workdays.get(day) or "")
    return f"{HOLIDAY_NAMES_ZH.get(english, english)} / {english}" if english else ""
