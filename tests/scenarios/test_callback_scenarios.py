"""Callbacks (回访): retries when the owner cannot be reached, and a dissatisfied owner's reopened complaint.

The engine-level paths are in tests/flows/test_callback_flow.py. Retries are timers 4 hours apart, fired
here through ``desk.wait`` (the timer worker is a later issue).
"""

from __future__ import annotations

from datetime import timedelta

from tests.scenarios.conftest import (
    OWNER_PHONE,
    REVIEWED,
    UNREACHED,
    call_back,
    holder,
    repair_until_confirmation,
)

DISSATISFIED = {"reached": True, "satisfaction": "dissatisfied", "remarks": "还是有异味，要投诉。"}


def life_service_done(desk):
    ticket = desk.open(category="life_service", part=None, description="厨房下水道有异味，需要疏通。")
    desk.handle(desk.staff.service_owner, ticket, "arrange_service", {"service_result": "已疏通。"})
    return ticket


def test_an_owner_unreachable_three_times_four_hours_apart_closes_the_ticket_as_unreachable(desk, staff):
    ticket = life_service_done(desk)

    for attempt in (1, 2):
        call = desk.handle(staff.agent, ticket, "call_owner", UNREACHED, not_by=[staff.service_owner])
        assert holder(call) == ("cs_agent", None, None)
        assert (desk.status(ticket), desk.instance(ticket)["tasks"]) == ("waiting", [])
        assert desk.wait(timedelta(hours=3, minutes=59), ticket) == [], f"retry {attempt} came too early"
        assert desk.wait(2 * timedelta(minutes=1), ticket) == ["call_owner"], f"no retry {attempt}"
        assert desk.ticket(ticket)["closed_at"] is None

    desk.handle(staff.agent, ticket, "call_owner", UNREACHED)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "unreachable", None)
    assert closed["closed_at"] == desk.clock.now().isoformat()
    assert (closed["reopened"], desk.status(ticket)) == (False, "completed")


def test_a_repair_whose_owner_cannot_be_reached_is_still_reviewed_and_closed_as_unreachable(desk, staff):
    ticket = desk.open()
    repair_until_confirmation(desk, ticket, staff.eng_super)
    for _ in range(2):
        call_back(desk, ticket, UNREACHED)
    call_back(desk, ticket, UNREACHED)

    review = desk.handle(staff.manager, ticket, "manager_review", REVIEWED, not_by=[staff.agent])
    assert holder(review) == ("property_manager", None, None)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "unreachable", None)
    assert desk.status(ticket) == "completed"


def test_a_dissatisfied_owner_reopens_the_ticket_as_a_linked_complaint_at_level_two(desk, staff):
    original = life_service_done(desk)

    desk.handle(staff.agent, original, "call_owner", DISSATISFIED)

    closed = desk.ticket(original)
    assert (closed["stage"], closed["satisfaction"], closed["closed_at"]) == (
        "closed", "dissatisfied", desk.clock.now().isoformat())
    assert (closed["reopened"], closed["closed_first_time"]) == (True, False)
    assert desk.status(original) == "completed"
    assert_reopened_as_complaint(desk, original)


def test_a_dissatisfied_owner_after_a_repair_reopens_it_as_a_complaint_when_the_manager_closes_it(desk, staff):
    original = desk.open()
    repair_until_confirmation(desk, original, staff.eng_super)
    call_back(desk, original, DISSATISFIED)

    desk.handle(staff.manager, original, "manager_review", REVIEWED)

    closed = desk.ticket(original)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "resolved", "dissatisfied")
    assert (closed["reopened"], closed["closed_first_time"]) == (True, False)
    assert desk.status(original) == "completed"
    assert_reopened_as_complaint(desk, original)


def assert_reopened_as_complaint(desk, original) -> None:
    """The next ticket is a complaint at level 2 about the same unit, linked to ``original``, judged by the desk."""
    staff = desk.staff
    [reopened] = staff.agent.get("/tickets/duplicates", query_string={
        "project": "lanting", "unit": desk.ticket(original)["unit"], "category": "complaint"}).json["items"]
    assert reopened["number"] != original.number
    assert (reopened["category"], reopened["escalation_level"], reopened["stage"]) == ("complaint", 2, "validity")
    assert (reopened["phone"], reopened["closed_at"], reopened["reopened"]) == (OWNER_PHONE, None, False)
    assert original.number in reopened["description"]
    judge = [task for task in staff.agent.get("/tasks", query_string={"scope": "group"}).json["items"]
             if task["instance_id"] == reopened["instance_id"]]
    assert [(task["name"], *holder(task)) for task in judge] == [("judge_validity", "cs_agent", None, None)]
    data = staff.agent.get(f"/tasks/{judge[0]['id']}").json["data"]
    assert (data["reopened_from"], data["escalation_level"]) == (original.number, 2)
