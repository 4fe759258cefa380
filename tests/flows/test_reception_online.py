"""Reception of an owner's own report (channel ``online``): the agent reviews instead of typing, at any hour,
then the ticket goes on exactly as a call would; a duplicate found in the review closes it."""

from __future__ import annotations

from tests.flows.test_reception_flow import NIGHT, reception, with_stand_ins  # noqa: F401  (fixtures)

REVIEWED = {"category": "repair", "urgency": "normal", "emergency": False, "part": "plumbing"}


def online(reception, **changes):  # noqa: F811
    return reception.start(channel="online", **{"category": "repair", "description": "厨房水槽下水管漏水。",
                                                "desired_completion_at": "2026-03-03T18:00:00+08:00", **changes})


def test_an_online_report_waits_for_the_agents_review_even_at_night(reception):  # noqa: F811
    reception.clock.set(NIGHT)
    started = online(reception)

    review = reception.task(started, "review_online")
    assert (review.lane, review.form_key) == ("cs_agent", "reception_review.json")
    assert review.due_at is not None
    assert started.next_timer_at is None  # no night hold: the review is the first step
    shown = reception.flows.task_data(started, "review_online")
    assert shown["description"] == "厨房水槽下水管漏水。"
    assert shown["desired_completion_at"] == "2026-03-03T18:00:00+08:00"


def test_the_review_corrects_the_category_and_the_ticket_goes_on_as_a_call(reception):  # noqa: F811
    started = online(reception, category="repair")
    reviewed = reception.complete(started, "review_online", {**REVIEWED, "category": "consultation"})
    assert [task.name for task in reviewed.ready_tasks] == ["answer_consultation"]
    assert (reviewed.data["shift"], reviewed.data["dispatch_now"], reviewed.data["night_emergency"]) == (
        "day", True, False)


def test_a_reviewed_repair_starts_the_work_order_with_the_owners_preferred_time(reception):  # noqa: F811
    reviewed = reception.complete(online(reception), "review_online", REVIEWED)
    reception.ready_in(reviewed, "repair")
    assert reviewed.data["desired_completion_at"] == "2026-03-03T18:00:00+08:00"
    assert reviewed.data["part"] == "plumbing"


def test_a_duplicate_found_in_the_review_closes_the_ticket(with_stand_ins):  # noqa: F811
    started = online(with_stand_ins)
    closed = with_stand_ins.complete(started, "review_online", {**REVIEWED, "duplicate_of": "KF-20260301-0007"})
    assert closed.status == "completed"
    assert (closed.data["stage"], closed.data["outcome"], closed.data["duplicate_of"]) == (
        "closed", "cancelled", "KF-20260301-0007")


def test_a_call_is_not_reviewed(reception):  # noqa: F811
    started = reception.start(category="repair", part="plumbing")
    assert "review_online" not in [task.name for task in started.ready_tasks]
    assert started.data["duplicate_of"] is None
