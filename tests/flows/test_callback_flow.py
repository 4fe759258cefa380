"""Callback (回访): wait until the callback is due, call the owner, retry when unreachable, record satisfaction.

The flow is deployed on its own here (nothing calls it), so it is its own bundle.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.services.errors import InvalidFormError
from app.services.forms import render_instructions
from tests.flows.conftest import START, Flows

A_MINUTE = timedelta(minutes=1)


@pytest.fixture
def flows(make_flows) -> Flows:
    return make_flows("callback.bpmn")


def work_done(**changes):
    """What the calling flow hands over when the work for the owner is done."""
    return {"ticket_number": "KF-20260302-0001", "category": "repair", "description": "卫生间地面渗水到楼下。",
            "caller_name": "王先生", "phone": "13812345678", "unit": "3栋-1202", **changes}


def test_callback_for_a_repair_waits_24_hours_then_the_agent_calls(flows):
    started = flows.start("callback", work_done(category="repair"))

    assert (started.status, started.ready_tasks) == ("waiting", ())
    assert started.next_timer_at == START + timedelta(hours=24)
    assert started.data["stage"] == "callback"
    too_early = flows.later(started, timedelta(hours=23, minutes=59))
    assert too_early.ready_tasks == ()

    due = flows.later(too_early, 2 * A_MINUTE)

    call = flows.task(due, "call_owner")
    assert (call.lane, call.department, call.form_key) == ("cs_agent", None, "callback_call.json")
    shown = render_instructions(call.instructions, flows.task_data(due, "call_owner"))
    assert "KF-20260302-0001" in shown
    assert "第 1 次，共 3 次" in shown


def test_other_categories_are_called_back_at_once(flows):
    started = flows.start("callback", work_done(category="life_service"))

    assert [task.name for task in started.ready_tasks] == ["call_owner"]
    assert started.next_timer_at is None


def test_reached_and_satisfied_owner_ends_the_callback_with_the_satisfaction_recorded(flows):
    due = flows.later(flows.start("callback", work_done()), timedelta(hours=24) + A_MINUTE)

    called = flows.complete(due, "call_owner", {"reached": True, "satisfaction": "satisfied",
                                                "remarks": "师傅很专业，已经不漏了。"})

    assert (called.status, called.ready_tasks) == ("completed", ())
    assert called.data["satisfaction"] == "satisfied"
    assert called.data["remarks"] == "师傅很专业，已经不漏了。"
    assert (called.data["callback_done"], called.data["reopen_as_complaint"]) == (True, False)
    assert "outcome" not in called.data  # reaching the owner leaves the outcome to the calling flow


def test_owner_unreachable_three_times_four_hours_apart_closes_as_unreachable(flows):
    result = flows.later(flows.start("callback", work_done(category="complaint")), timedelta(hours=24) + A_MINUTE)

    for attempt in (1, 2):
        result = flows.complete(result, "call_owner", {"reached": False})
        assert (result.status, result.ready_tasks) == ("waiting", ())
        assert result.next_timer_at == flows.clock.now() + timedelta(hours=4)
        too_early = flows.later(result, timedelta(hours=3, minutes=59))
        assert too_early.ready_tasks == ()  # not before 4 hours
        result = flows.later(too_early, 2 * A_MINUTE)
        assert flows.task_data(result, "call_owner")["callback_attempts"] == attempt

    given_up = flows.complete(result, "call_owner", {"reached": False})

    assert (given_up.status, given_up.ready_tasks) == ("completed", ())
    assert given_up.data["outcome"] == "unreachable"
    assert (given_up.data["callback_attempts"], given_up.data["callback_done"]) == (3, True)
    assert "satisfaction" not in given_up.data


def test_owner_reached_on_the_second_try_is_recorded_normally(flows):
    first = flows.later(flows.start("callback", work_done()), timedelta(hours=24) + A_MINUTE)
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

    assert refused.value.errors == {"satisfaction": "必填 / required"}
