"""Tickets across flows: repeated calls attached instead of dispatched twice, repeat repairs, project limits.

Ticket numbers stay unique when twenty tickets are opened at once: that is
tests/web/test_api_tickets.py::test_twenty_tickets_opened_at_once_get_twenty_different_numbers
(marked ``concurrency``), not repeated here.
"""

from __future__ import annotations

from datetime import timedelta

from app.services.people.organisation import limit_user_to_projects
from app.services.people.users import find_user
from tests.scenarios.conftest import (
    HANDED_OVER_2_YEARS_AGO,
    OTHER_PROJECT_UNIT,
    REVIEWED,
    call_back,
    intake,
    repair_until_confirmation,
)


def duplicates_of(user, unit, category):
    response = user.get("/tickets/duplicates", query_string={"project": "lanting", "unit": unit,
                                                             "category": category})
    assert response.status_code == 200, response.json
    return [ticket["number"] for ticket in response.json["items"]]


def test_a_second_call_about_the_same_problem_is_attached_to_the_open_ticket_instead_of_dispatched(desk, staff):
    first = desk.open(description="顶层卧室天花板渗水。")
    desk.clock.advance(timedelta(hours=2))

    assert duplicates_of(staff.agent, HANDED_OVER_2_YEARS_AGO, "repair") == [first.number]
    second_call = {"caller_name": "王太太", "phone": "13900139000", "channel": "hotline",
                   "description": "还在漏，什么时候来修？"}
    attached = staff.agent.post(f"/tickets/{first.number}/calls", json={"data": second_call})

    assert attached.status_code == 200, attached.json
    assert (attached.json["number"], attached.json["attached_calls"]) == (first.number, 1)
    assert staff.agent.get(f"/tickets/{first.number[:-4]}0002").status_code == 404  # no second ticket
    dispatches = [task for task in staff.eng_super.get("/tasks", query_string={"scope": "group"}).json["items"]
                  if task["name"] == "dispatch_technician"]
    assert [task["instance_id"] for task in dispatches] == [first.instance_id]  # dispatched once
    *_, call, chase = desk.instance(first)["events"]  # the call, then the chase it counts
    assert (call["action"], call["actor"], call["data"]["caller_name"]) == ("call_attached", "agent", "王太太")
    assert (chase["action"], chase["data"]["count"]) == ("chased", 1)
    assert desk.ticket(first)["stage"] == "dispatch"


def test_a_repair_of_the_same_unit_and_part_within_ninety_days_is_flagged_as_a_repeat_on_both_tickets(desk, staff):
    first = desk.open(part="roof_waterproof")
    repair_until_confirmation(desk, first, staff.eng_super)
    call_back(desk, first)
    desk.handle(staff.manager, first, "manager_review", REVIEWED)
    assert (desk.ticket(first)["closed_at"] is not None, desk.ticket(first)["repeat_repair"]) == (True, False)
    desk.clock.advance(timedelta(days=40))

    again = desk.open(part="roof_waterproof", description="同一位置又渗水了。")

    assert desk.ticket(again)["repeat_repair"] is True
    assert desk.ticket(first)["repeat_repair"] is True
    other_part = desk.open(part="electrical", description="卧室插座没电。")
    assert desk.ticket(other_part)["repeat_repair"] is False


def test_a_user_limited_to_one_project_never_sees_another_projects_tickets_or_their_tasks(desk, staff, api_as):
    elsewhere = desk.open(project="binjiang", unit=OTHER_PROJECT_UNIT, category="consultation", part=None,
                          description="滨江府的停车费怎么交？")
    limited = api_as("lanting_agent", "cs_agent")
    limit_user_to_projects(find_user("lanting_agent").id, ["lanting"])
    mine = desk.open(category="consultation", part=None, description="兰亭苑的停车费怎么交？")

    assert limited.get(f"/tickets/{elsewhere.number}").status_code == 404
    assert limited.get(f"/tickets/{mine.number}").status_code == 200
    assert limited.post("/tickets", json={"data": intake(project="binjiang", unit=OTHER_PROJECT_UNIT)}
                        ).status_code == 403
    assert limited.get("/tickets/duplicates", query_string={"project": "binjiang", "unit": OTHER_PROJECT_UNIT,
                                                            "category": "consultation"}).json["items"] == []
    listed = {task["instance_id"] for task in limited.get("/tasks", query_string={"scope": "group"}).json["items"]}
    assert listed == {mine.instance_id}  # the other project's answer_consultation is not in the inbox
    their_task = desk.task_for(staff.agent, elsewhere, "answer_consultation")
    assert limited.get(f"/tasks/{their_task['id']}").status_code == 404
    assert limited.complete(their_task["id"], {"answered_on_the_spot": True, "answer": "x"}).status_code == 404
    assert limited.get(f"/instances/{elsewhere.instance_id}").status_code == 404
    assert desk.ticket(elsewhere)["stage"] == "consultation"  # untouched
