"""Planned callbacks (定期回访) through the JSON API: the worker starts them on their day, agents make them.

A unit handed over on Monday 2 March is called a week later, on Monday 9 March, and again ten working days
after that (``callback_plan.dmn``: new owners twice in their first month). An issue the owner raises on a
call opens a ticket linked to it (the supervisor's /callbacks page links it); a closed complaint is called
back two weeks after it closed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from app.clock import ManualClock
from app.services.outreach.planned_callbacks import ensure_planned_callbacks_job
from app.services.people.organisation import create_unit
from tests.conftest import Api
from tests.console_client import Browser
from tests.scenarios.conftest import INVALID, SATISFIED, TODAY, Desk, call_back, run_timer_worker

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_UNIT = "8栋-0101"
NEW_OWNER_PHONE = "13700000001"
REACHED_SATISFIED = {"reached": True, "satisfaction": "satisfied", "issue_raised": False,
                     "remarks": "入住顺利。"}
REACHED_WITH_A_LEAK = {"reached": True, "satisfaction": "neutral", "issue_raised": True,
                       "issue_category": "repair", "issue_description": "主卧窗台渗水。"}


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def new_owner(app: Flask, desk: Desk, clock: ManualClock) -> None:
    """A unit handed over today (Monday 2 March), and the worker started (it creates the daily job)."""
    create_unit("lanting", NEW_UNIT, owner_name="赵先生", owner_phone=NEW_OWNER_PHONE, handover_date=TODAY)
    ensure_planned_callbacks_job(now=clock.now(), timezone=app.extensions["kefu"].timezone)


def planned_calls(agent: Api) -> list[dict[str, Any]]:
    """The planned-callback calls waiting in the agent's group inbox."""
    response = agent.get("/tasks", query_string={"scope": "group", "limit": 200})
    assert response.status_code == 200, response.json
    return [task for task in response.json["items"] if task["process_id"] == "planned_callback"]


def on_the_morning_of(day: date, app: Flask, clock: ManualClock) -> None:
    """The clock at 08:01 business time on ``day``; the worker runs what is due."""
    clock.set(at_local(day, 8, 1))
    run_timer_worker(app)


def test_a_new_owner_gets_two_planned_callbacks_on_the_planned_days(
        app: Flask, desk: Desk, clock: ManualClock, new_owner: None) -> None:
    agent = desk.staff.agent
    on_the_morning_of(date(2026, 3, 6), app, clock)
    assert planned_calls(agent) == [], "nothing before the first call's day"

    on_the_morning_of(date(2026, 3, 9), app, clock)
    [first] = planned_calls(agent)
    details = agent.get(f"/tasks/{first['id']}").json
    assert "第 1 次，共 2 次" in details["instructions"] and NEW_OWNER_PHONE in details["instructions"]
    task_page = page_as(app, "agent", f"/tasks/{first['id']}")  # the agent's console: script and form
    assert "入住是否顺利" in task_page and 'name="issue_raised"' in task_page
    assert agent.complete(first["id"], REACHED_SATISFIED).status_code == 200

    next_call = desk.staff.supervisor.get(f"/instances/{first['instance_id']}").json["next_timer_at"]
    assert datetime.fromisoformat(next_call).astimezone(SHANGHAI).date() == date(2026, 3, 23)  # 10 working days
    on_the_morning_of(date(2026, 3, 20), app, clock)
    assert planned_calls(agent) == []

    clock.set(datetime.fromisoformat(next_call) + timedelta(seconds=1))
    run_timer_worker(app)
    [second] = planned_calls(agent)
    assert "第 2 次，共 2 次" in agent.get(f"/tasks/{second['id']}").json["instructions"]
    assert agent.complete(second["id"], REACHED_SATISFIED).status_code == 200
    assert desk.staff.supervisor.get(f"/instances/{first['instance_id']}").json["status"] == "completed"


def test_a_planned_callback_is_not_started_twice_when_the_worker_runs_again(
        app: Flask, desk: Desk, clock: ManualClock, new_owner: None) -> None:
    on_the_morning_of(date(2026, 3, 9), app, clock)
    on_the_morning_of(date(2026, 3, 10), app, clock)
    assert len(planned_calls(desk.staff.agent)) == 1


def first_call_answered(app: Flask, desk: Desk, clock: ManualClock, answer: dict[str, Any]) -> None:
    """On Monday 9 March the agent makes the new owner's first call and records ``answer``."""
    on_the_morning_of(date(2026, 3, 9), app, clock)
    [call] = planned_calls(desk.staff.agent)
    assert desk.staff.agent.complete(call["id"], answer).status_code == 200


def page_as(app: Flask, username: str, path: str) -> str:
    page = logged_in(app, username).get(path)
    assert page.status_code == 200
    return str(page.get_data(as_text=True))


def test_an_issue_raised_on_a_callback_opens_a_ticket_linked_to_it(
        app: Flask, desk: Desk, clock: ManualClock, new_owner: None) -> None:
    agent = desk.staff.agent
    first_call_answered(app, desk, clock, REACHED_WITH_A_LEAK)

    text = page_as(app, "supervisor", "/callbacks")
    number = text.split('data-linked-ticket="')[1].split('"')[0]
    ticket = agent.get(f"/tickets/{number}").json
    assert ticket["unit"] == NEW_UNIT and ticket["category"] == "repair"
    assert "主卧窗台渗水" in ticket["description"]


def test_an_issue_needs_its_description(app: Flask, desk: Desk, clock: ManualClock, new_owner: None) -> None:
    agent = desk.staff.agent
    on_the_morning_of(date(2026, 3, 9), app, clock)
    [call] = planned_calls(agent)
    response = agent.complete(call["id"], {"reached": True, "satisfaction": "satisfied", "issue_raised": True})
    assert response.status_code == 422
    assert "issue_description" in response.json["errors"]


def test_a_closed_complaint_is_called_back_two_weeks_later_with_its_ticket_in_the_script(
        app: Flask, desk: Desk, clock: ManualClock) -> None:
    staff = desk.staff
    ticket = desk.open(category="complaint", complaint_type="leak_crack", part=None,
                       description="楼下邻居装修太吵，要求物业赔偿。")
    desk.handle(staff.agent, ticket, "judge_validity", INVALID)
    desk.handle(staff.agent, ticket, "explain_to_owner", {"explanation": "已说明装修时段。", "owner_accepts": True})
    desk.handle(staff.supervisor, ticket, "supervisor_review_invalid", {"reopen": False})
    call_back(desk, ticket, SATISFIED)
    assert desk.ticket(ticket)["stage"] == "closed"

    on_the_morning_of(date(2026, 3, 13), app, clock)
    assert planned_calls(staff.agent) == []
    on_the_morning_of(date(2026, 3, 16), app, clock)  # closed on Monday 2 March: two weeks later
    [call] = planned_calls(staff.agent)
    instructions = staff.agent.get(f"/tasks/{call['id']}").json["instructions"]
    assert ticket.number in instructions and "投诉办结业主" in instructions


def test_the_dashboard_counts_the_satisfaction_of_planned_callbacks_by_project(
        app: Flask, desk: Desk, clock: ManualClock, new_owner: None) -> None:
    first_call_answered(app, desk, clock, REACHED_SATISFIED)
    page = page_as(app, "manager", "/admin/dashboard")
    row = page.split('data-dimension="project" data-value="lanting"')[1].split("</tr>")[0]
    assert "兰亭苑" in row and "100%" in row


def logged_in(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


VIP_WEEK = {"customer_type": "vip", "project": "lanting", "building": "", "first_day": "2026-03-09",
            "last_day": "2026-03-13"}


def test_a_supervisor_plans_vip_callbacks_spread_over_the_working_days_and_each_starts_on_its_day(
        app: Flask, desk: Desk, clock: ManualClock) -> None:
    supervisor = logged_in(app, "supervisor")
    assert supervisor.post("/callbacks/plan", VIP_WEEK).status_code == 302
    page = supervisor.get("/callbacks").get_data(as_text=True)
    assert re.findall(r'<td>(2026-03-\d\d)</td>\s*<td>VIP 业主', page) == ["2026-03-11", "2026-03-09"]
    again = supervisor.post("/callbacks/plan", VIP_WEEK)
    assert again.status_code == 302, again.get_data(as_text=True)
    shown = supervisor.get("/callbacks").get_data(as_text=True)
    assert "已安排 0 位业主；2 位此前已安排" in shown and shown.count("<td>VIP 业主") == 2

    on_the_morning_of(date(2026, 3, 9), app, clock)
    [call] = planned_calls(desk.staff.agent)
    assert "VIP 业主" in desk.staff.agent.get(f"/tasks/{call['id']}").json["instructions"]


def test_a_plan_ending_before_it_starts_is_refused_with_what_was_typed(app: Flask, desk: Desk) -> None:
    refused = logged_in(app, "supervisor").post("/callbacks/plan", {**VIP_WEEK, "last_day": "2026-03-01"})
    assert refused.status_code == 422
    assert 'value="2026-03-01"' in refused.get_data(as_text=True)


def test_an_agent_may_not_plan_callbacks(app: Flask, desk: Desk) -> None:
    agent = logged_in(app, "agent")
    assert agent.get("/callbacks").status_code == 403
    assert agent.post("/callbacks/plan", VIP_WEEK).status_code == 403
