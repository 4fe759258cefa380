"""Working time the Chinese way: office hours, statutory holidays, make-up working days (调休), overrides.

2025's National Day holiday (from the chinese-calendar package): off Wednesday 1 to Wednesday
8 October, worked on Sunday 28 September and Saturday 11 October instead.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from app import create_app
from app.clock import ManualClock
from app.engine.scripting import make_helpers
from app.engine.working_time import OfficeHours, WorkingCalendar, WorkingTimeError
from app.services.errors import InvalidFormError, NotFoundError
from app.services.figures import working_calendar
from app.services.figures.working_calendar import CalendarCache, add_override, build_calendar, remove_override
from tests.conftest import app_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_TO_SIX = OfficeHours.parse("09:00-18:00")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def china() -> WorkingCalendar:
    return build_calendar([], NINE_TO_SIX, "Asia/Shanghai")


def test_five_working_days_from_the_friday_before_national_day_end_after_the_holiday(china):
    opened = local("2025-09-26T15:00")  # Friday afternoon

    due = china.add(opened, 5, "working_days")

    # Sun 28 Sep (make-up), Mon 29, Tue 30, [1-8 Oct off], Thu 9, Fri 10
    assert due == local("2025-10-10T15:00")


def test_the_make_up_saturday_after_the_holiday_is_a_working_day(china):
    assert china.add(local("2025-09-26T15:00"), 6, "working_days") == local("2025-10-11T15:00")
    assert china.is_working_day(date(2025, 9, 28)) and china.is_working_day(date(2025, 10, 11))
    assert not china.is_working_day(date(2025, 10, 8)) and not china.is_working_day(date(2025, 10, 12))


def test_weekends_alone_would_have_ended_the_same_limit_during_the_holiday():
    weekends_only = WorkingCalendar(NINE_TO_SIX, "Asia/Shanghai")

    assert weekends_only.add(local("2025-09-26T15:00"), 5, "working_days") == local("2025-10-03T15:00")


def test_a_limit_opened_after_hours_starts_counting_at_the_next_opening(china):
    friday_evening = local("2025-09-26T20:30")

    assert china.add(friday_evening, 1, "working_hours") == local("2025-09-28T10:00")  # the make-up Sunday
    assert china.add(friday_evening, 5, "working_days") == local("2025-10-10T18:00")  # close of the 5th day
    assert china.add(local("2025-09-29T07:00"), 2, "working_hours") == local("2025-09-29T11:00")


def test_the_lunch_break_does_not_count():
    with_lunch = WorkingCalendar(OfficeHours.parse("09:00-18:00", "12:00-13:30"), "Asia/Shanghai")

    assert with_lunch.office_hours.hours_per_day == 7.5
    assert with_lunch.add(local("2026-03-02T11:00"), 2, "working_hours") == local("2026-03-02T14:30")
    assert with_lunch.add(local("2026-03-02T12:30"), 1, "working_hours") == local("2026-03-02T14:30")
    assert with_lunch.add(local("2026-03-02T09:00"), 1, "working_days") == local("2026-03-02T18:00")


def test_calendar_hours_ignore_office_hours_and_holidays(china):
    assert china.add(local("2025-09-30T17:00"), 24, "hours") == local("2025-10-01T17:00")


def test_working_hours_between_counts_only_office_time(china):
    assert china.working_hours_between(local("2025-09-30T17:00"), local("2025-10-09T10:00")) == 2.0


def test_the_result_keeps_the_offset_it_was_given(china):
    due = china.add(datetime.fromisoformat("2025-09-26T07:00:00+00:00"), 5, "working_days")

    assert due.isoformat() == "2025-10-10T07:00:00+00:00"


@pytest.mark.parametrize(("day", "lunch"), [("9-18", None), ("18:00-09:00", None), ("09:00-25:00", None),
                                            ("09:00-18:00", "19:00-20:00"), ("09:00-18:00", "noon")])
def test_office_hours_that_cannot_be_read_are_refused_with_the_value(day, lunch):
    with pytest.raises(WorkingTimeError, match=r"office hours|lunch break"):
        OfficeHours.parse(day, lunch)


def test_an_unknown_unit_or_a_negative_amount_is_refused(china):
    with pytest.raises(WorkingTimeError, match="unknown time unit 'days'"):
        china.add(local("2025-09-26T15:00"), 5, "days")
    with pytest.raises(WorkingTimeError, match="negative"):
        china.add(local("2025-09-26T15:00"), -1, "working_hours")


def test_the_script_helper_reads_the_calendar_it_is_given(china):
    helpers = make_helpers(ManualClock(local("2025-09-26T15:00")), "Asia/Shanghai", lambda: china)

    due = helpers["add_working_time"]("2025-09-26T07:00:00+00:00", 5, "working_days")

    assert due == "2025-10-10T07:00:00+00:00"
    assert helpers["add_working_time"]("2025-09-26T07:00:00+00:00", 24, "hours") == "2025-09-27T07:00:00+00:00"


# --- with the database: overrides, unknown years, the cache ----------------------------------------

@pytest.fixture
def calendar(app) -> CalendarCache:
    return app.extensions["kefu"].calendar


def test_an_override_wins_over_the_library(app, calendar, clock):
    opened = local("2025-09-26T15:00")
    assert calendar().add(opened, 5, "working_days") == local("2025-10-10T15:00")

    add_override("2025-10-08", "workday", "调整：8日上班", user=None, clock=clock)
    assert calendar().add(opened, 5, "working_days") == local("2025-10-09T15:00")

    add_override("2025-09-28", "holiday", "取消调休", user=None, clock=clock)
    assert calendar().add(opened, 5, "working_days") == local("2025-10-10T15:00")
    assert not calendar().is_working_day(date(2025, 9, 28))


def test_removing_an_override_gives_the_day_back_to_the_library(app, calendar, clock):
    override = add_override("2025-10-11", "holiday", "不调休", user=None, clock=clock)
    assert not calendar().is_working_day(date(2025, 10, 11))

    remove_override(override.id)

    assert calendar().is_working_day(date(2025, 10, 11))
    with pytest.raises(NotFoundError):
        remove_override(override.id)


def test_a_year_nobody_knows_is_flagged_and_counts_weekends_only(app, calendar, clock):
    assert not calendar().is_year_known(2030)
    assert [status.is_known for status in working_calendar.year_statuses([2025, 2030])] == [True, False]
    # 1 Oct 2030 is a Tuesday: without data it is an ordinary working day
    assert calendar().add(local("2030-09-30T15:00"), 1, "working_days") == local("2030-10-01T15:00")

    add_override("2030-10-01", "holiday", "国庆节", user=None, clock=clock)

    assert calendar().is_year_known(2030)
    assert working_calendar.year_statuses([2030])[0].holidays == 1
    assert calendar().add(local("2030-09-30T15:00"), 1, "working_days") == local("2030-10-02T15:00")


def test_another_process_sees_an_edit_without_a_restart(app, calendar, clock):
    other_process = CalendarCache(NINE_TO_SIX, "Asia/Shanghai")
    assert other_process().is_working_day(date(2030, 1, 1))

    add_override("2030-01-01", "holiday", "元旦", user=None, clock=clock)

    assert not other_process().is_working_day(date(2030, 1, 1))
    assert other_process() is other_process()  # unchanged table: the cached calendar


@pytest.mark.parametrize(("fields", "field"), [
    (("2025-13-01", "holiday", "x"), "day"), (("", "holiday", "x"), "day"),
    (("2025-10-01", "weekend", "x"), "kind"), (("2025-10-01", "holiday", "  "), "name"),
    (("2025-10-01", "holiday", "长" * 101), "name"),
])
def test_an_invalid_override_names_the_field_and_stores_nothing(app, clock, fields, field):
    with pytest.raises(InvalidFormError) as refused:
        add_override(*fields, user=None, clock=clock)

    assert field in refused.value.errors
    assert working_calendar.list_overrides() == []


def test_a_day_is_overridden_once(app, clock):
    add_override("2025-10-01", "holiday", "国庆", user=None, clock=clock)

    with pytest.raises(InvalidFormError) as refused:
        add_override("2025-10-01", "workday", "again", user=None, clock=clock)

    assert "already set" in str(refused.value.errors["day"])
    assert [(o.day, o.kind) for o in working_calendar.list_overrides()] == [(date(2025, 10, 1), "holiday")]


def test_office_hours_come_from_the_settings(database_url):
    configured = create_app(app_config(database_url, OFFICE_HOURS="08:30-17:30", OFFICE_LUNCH_BREAK="12:00-13:00"))

    assert configured.extensions["kefu"].calendar.office_hours.describe() == "08:30-12:00, 13:00-17:30"
    with pytest.raises(WorkingTimeError, match="'8-17'"):
        create_app(app_config(database_url, OFFICE_HOURS="8-17"))
