"""The helper functions diagrams use in timers, conditions and scripts read the business clock."""

from datetime import UTC, datetime

import pytest

from app.clock import ManualClock
from app.engine.scripting import make_helpers

EVENING_IN_SHANGHAI = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 21:00 local


@pytest.fixture
def helpers():
    return make_helpers(ManualClock(EVENING_IN_SHANGHAI), "Asia/Shanghai")


def test_local_hour_is_the_hour_on_the_business_clock(helpers):
    assert helpers["local_hour"]() == 21
    assert helpers["local_hour"]("2026-03-02T23:30:00+00:00") == 7


def test_the_next_morning_hand_over_is_tomorrow_at_eight_local(helpers):
    assert helpers["next_local_time"]("08:00") == "2026-03-03T08:00:00+08:00"
    assert helpers["next_local_time"]("22:00") == "2026-03-02T22:00:00+08:00"


def test_hours_between_and_add_hours_agree(helpers):
    later = helpers["add_hours"](helpers["now"](), 4.5)
    assert helpers["hours_between"](helpers["now"](), later) == 4.5
