"""Callback (回访): call the owner at once (due within 24 h), retry in office hours, record satisfaction.

The flow is deployed on its own here (nothing calls it), so it is its own bundle.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.services.errors import InvalidFormError, msg
from app.services.work.forms import render_instructions
from tests.flows.conftest import START, Flows

REQUIRED = msg("required")  # a required field's error, as the services say it

A_MINUTE = timedelta(minutes=1)


@pytest.fixture
def flows(make_flows) -> Flows:
    return make_flows("callback.bpmn")


def work_done(**changes):
    """What the calling flow hands over when the work for the owner is done."""
    return {"ticket_number": "KF-20260302-0001", "category": "repair", "description": "卫生间地面渗水到楼下。",
            "caller_name": "王先生", "phone": "13812345678", "unit": "3栋-1202", **changes}


@pytest.mark.parametrize("category", ["repair", "complaint", "life_service", "consultation"])
def test_the_call_appears_at_once_and_is_due_within_24_hours_of_the_closing_step(flows, category):
    started = flows.start("callback", work_done(category=category))

    call = flows.task(started, "call_owner")
    assert (started.status, started.next_timer_at) == ("running", None)
    assert call.due_at == START + timedelta(hours=24)  # setting callback_due_hours
    assert (call.lane, call.department, call.form_key) == ("cs_agent", None, "callback_call.json")
    assert started.data["stage"] == "callback"
    shown = render_instructions(call.instructions, flows.task_data(started, "call_owner"))
    assert "KF-20260302-0001" in shown
    assert "第 1 次，共 3 次" in shown


def test_the_due_time_is_fixed_when_the_call_appears_not_when_it_is_looked_at(flows):
    started = flows.start("callback", work_done())
    flows.clock.advance(timedelta(hours=5))

    assert flows.task(flows.engine.inspect(started.state), "call_owner").due_at == START + timedelta(hours=24)


def test_reached_and_satisfied_owner_ends_the_callback_with_the_satisfaction_recorded(flows):
    due = flows.start("callback", work_done())

    called = flows.complete(due, "call_owner", {"reached": True, "satisfaction": "satisfied",
                                                "remarks": "师傅很专业，已经不漏了。"})

    assert (called.status, called.ready_tasks) == ("completed", ())
    assert called.data["satisfaction"] == "satisfied"
    assert called.data["remarks"] == "师傅很专业，已经不漏了。"
    assert (called.data["callback_done"], called.data["reopen_as_complaint"]) == (True, False)
    assert "outcome" not in called.data  # reaching the owner leaves the outcome to the calling flow


def test_owner_unreachable_three_times_4_office_hours_apart_closes_as_unreachable(flows):
    """Monday 09:00 (Shanghai) the first call fails: the retry comes at 13:00. That one fails at 16:00:
    4 office hours later is Tuesday 11:00 (2 h on Monday until 18:00, 2 h from 09:00), never at night."""
    first = flows.start("callback", work_done(category="complaint"))
    waiting = flows.complete(first, "call_owner", {"reached": False})
    assert (waiting.status, waiting.ready_tasks) == ("waiting", ())
    assert waiting.next_timer_at == START + timedelta(hours=4)
    assert flows.later(waiting, timedelta(hours=4) - A_MINUTE).ready_tasks == ()  # not before 13:00
    second = flows.later(waiting, 2 * A_MINUTE)
    assert flows.task_data(second, "call_owner")["callback_attempts"] == 1
    assert flows.task(second, "call_owner").due_at == flows.clock.now() + timedelta(hours=4)  # 4 office hours

    flows.clock.set(START + timedelta(hours=7))  # 16:00
    waiting = flows.complete(second, "call_owner", {"reached": False})
    tuesday_11 = START + timedelta(days=1, hours=2)
    assert waiting.next_timer_at == tuesday_11
    third = flows.later(waiting, tuesday_11 - flows.clock.now() + A_MINUTE)
    assert flows.task_data(third, "call_owner")["callback_attempts"] == 2

    given_up = flows.complete(third, "call_owner", {"reached": False})

    assert (given_up.status, given_up.ready_tasks) == ("completed", ())
    assert given_up.data["outcome"] == "unreachable"
    assert (given_up.data["callback_attempts"], given_up.data["callback_done"]) == (3, True)
    assert given_up.data.get("satisfaction") is None  # never rated (the flow starts it empty)


def test_owner_reached_on_the_second_try_is_recorded_normally(flows):
    first = flows.start("callback", work_done())
    retry = flows.later(flows.complete(first, "call_owner", {"reached": False}), timedelta(hours=4) + A_MINUTE)

    called = flows.complete(retry, "call_owner", {"reached": True, "satisfaction": "very_satisfied"})

    assert called.status == "completed"
    assert (called.data["satisfaction"], called.data["callback_attempts"]) == ("very_satisfied", 1)
    assert "outcome" not in called.data


@pytest.mark.parametrize(("satisfaction", "reopen"), [
    ("very_satisfied", False), ("satisfied", False), ("neutral", False),
    ("dissatisfied", True), ("very_dissatisfied", True),
])
def test_dissatisfied_owner_reopens_the_ticket_as_a_complaint(flows, satisfaction, reopen):
    started = flows.start("callback", work_done(category="consultation"))

    called = flows.complete(started, "call_owner", {"reached": True, "satisfaction": satisfaction,
                                                    "remarks": "还是有异味。"})

    assert called.status == "completed"
    assert (called.data["satisfaction"], called.data["reopen_as_complaint"]) == (satisfaction, reopen)


def test_a_reached_owner_needs_a_satisfaction_on_the_form(flows):
    started = flows.start("callback", work_done(category="consultation"))

    with pytest.raises(InvalidFormError) as refused:
        flows.complete(started, "call_owner", {"reached": True})

    assert refused.value.errors == {"satisfaction": REQUIRED}
