"""Planned callbacks (定期回访) through the JSON API: the worker starts them on their day, agents make them.

A unit handed over on Monday 2 March is called a week later, on Monday 9 March, and again ten working days
after that (``callback_plan.dmn``: new owners twice in their first month). An issue the owner raises on a
call opens a ticket linked to it (GET /callback-plans shows it on the call); a closed complaint is called
back two weeks after it closed. A CS supervisor plans a period for a customer type (POST /callback-plans) and
reads the plan of the next days (GET /callback-plans/schedule).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db
from app.models import User
from app.services.outreach.planned_callbacks import ensure_planned_callbacks_job
from app.services.people.organisation import create_unit, limit_user_to_projects
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

    [plan] = plans(desk.staff.supervisor, customer_type="new_owner")
    assert (plan["unit"], plan["status"]) == (NEW_UNIT, "started")
    [call] = plan["calls"]
    assert (call["reached"], call["satisfaction"], call["method"]) == (True, "neutral", "phone")
    number = call["ticket"]
    assert number in page_as(app, "supervisor", "/callbacks"), "the console's page links it too"
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


def plans(user: Api, **query: str) -> list[dict[str, Any]]:
    response = user.get("/callback-plans", query_string=query)
    assert response.status_code == 200, response.json
    return list(response.json["items"])


VIP_WEEK = {"customer_type": "vip", "project": "lanting", "building": "", "first_day": "2026-03-09",
            "last_day": "2026-03-13"}
# Warranties ending soon are phoned by the desk's agents (callback_plan.dmn), so their calls reach ``agent``.
WARRANTY_WEEK = {**VIP_WEEK, "customer_type": "warranty_expiring"}


def test_a_supervisor_plans_vip_callbacks_spread_over_the_working_days_and_each_starts_on_its_day(
        app: Flask, desk: Desk, clock: ManualClock) -> None:
    supervisor = desk.staff.supervisor
    planned = supervisor.post("/callback-plans", json={"data": VIP_WEEK})
    assert (planned.status_code, planned.json) == (201, {"planned": 2, "already_planned": 0})
    listed = plans(supervisor, customer_type="vip")
    assert [(plan["due_on"], plan["status"]) for plan in listed] == [("2026-03-09", "planned"),
                                                                     ("2026-03-11", "planned")]
    again = supervisor.post("/callback-plans", json={"data": VIP_WEEK})
    assert (again.status_code, again.json) == (201, {"planned": 0, "already_planned": 2})
    assert len(plans(supervisor, customer_type="vip")) == 2

    on_the_morning_of(date(2026, 3, 9), app, clock)
    first, second = plans(supervisor, customer_type="vip")
    assert (first["status"], second["status"]) == ("started", "planned")
    [call] = supervisor.get(f"/instances/{first['instance_id']}").json["tasks"]
    assert call["process_id"] == "planned_callback"
    assert [plan["due_on"] for plan in plans(supervisor, status="planned")] == ["2026-03-11"]


def test_the_plan_of_the_next_days_counts_each_day_and_filters_narrow_the_list(
        app: Flask, desk: Desk, clock: ManualClock) -> None:
    supervisor = desk.staff.supervisor
    assert supervisor.post("/callback-plans", json={"data": WARRANTY_WEEK}).status_code == 201
    month = {**VIP_WEEK, "customer_type": "regular", "building": "1栋", "first_day": "2026-03-16",
             "last_day": "2026-04-15"}
    assert supervisor.post("/callback-plans", json={"data": month}).json == {"planned": 1, "already_planned": 0}

    week = supervisor.get("/callback-plans/schedule", query_string={"days": 14}).json
    assert (week["first_day"], week["last_day"], len(week["days"])) == ("2026-03-02", "2026-03-15", 14)
    busy = {day["day"]: day["by_customer_type"] for day in week["days"] if day["plans"]}
    assert busy == {"2026-03-09": {"warranty_expiring": 1}, "2026-03-11": {"warranty_expiring": 1}}
    month_ahead = supervisor.get("/callback-plans/schedule").json
    assert len(month_ahead["days"]) == 30 and len(month_ahead["items"]) == 3

    in_range = plans(supervisor, due_from="2026-03-10", due_to="2026-03-31")
    assert [(plan["due_on"], plan["customer_type"]) for plan in in_range] == [("2026-03-11", "warranty_expiring"),
                                                                             ("2026-03-16", "regular")]
    assert plans(supervisor, project="binjiang") == []
    assert plans(supervisor, method="phone") == [], "no call has been made yet"
    on_the_morning_of(date(2026, 3, 9), app, clock)
    [call] = planned_calls(desk.staff.agent)
    assert desk.staff.agent.complete(call["id"], REACHED_SATISFIED).status_code == 200
    [phoned] = plans(supervisor, method="phone")
    assert (phoned["due_on"], phoned["status"], phoned["calls"][0]["method"]) == ("2026-03-09", "done", "phone")
    assert plans(supervisor, method="visit") == []
    assert [plan["due_on"] for plan in plans(supervisor, status="done")] == ["2026-03-09"]
    first = supervisor.get("/callback-plans", query_string={"limit": 2}).json
    assert [plan["due_on"] for plan in first["items"]] == ["2026-03-09", "2026-03-11"] and first["next"]
    rest = supervisor.get("/callback-plans", query_string={"limit": 2, "cursor": first["next"]}).json
    assert ([plan["due_on"] for plan in rest["items"]], rest["next"]) == (["2026-03-16"], None)


def test_a_plan_not_started_is_cancelled_and_a_started_one_stays(
        app: Flask, desk: Desk, clock: ManualClock) -> None:
    supervisor = desk.staff.supervisor
    supervisor.post("/callback-plans", json={"data": WARRANTY_WEEK})
    first, second = plans(supervisor, customer_type="warranty_expiring")
    on_the_morning_of(date(2026, 3, 9), app, clock)

    cancelled = supervisor.post(f"/callback-plans/{second['id']}/cancel")
    assert (cancelled.status_code, cancelled.json["status"]) == (200, "cancelled")
    kept = supervisor.post(f"/callback-plans/{first['id']}/cancel")
    assert (kept.status_code, kept.json["status"]) == (200, "started")
    assert supervisor.get(f"/callback-plans/{second['id']}").json["status"] == "cancelled"
    assert supervisor.post("/callback-plans/999999/cancel").status_code == 404
    on_the_morning_of(date(2026, 3, 11), app, clock)
    assert len(planned_calls(desk.staff.agent)) == 1, "the cancelled plan is never called"


def test_a_plan_with_bad_fields_is_refused_naming_each(desk: Desk) -> None:
    supervisor = desk.staff.supervisor
    backwards = supervisor.post("/callback-plans", json={"data": {**VIP_WEEK, "last_day": "2026-03-01"}})
    assert backwards.status_code == 422 and list(backwards.json["errors"]) == ["last_day"]
    untyped = supervisor.post("/callback-plans", json={"data": {**VIP_WEEK, "customer_type": "friend",
                                                                "first_day": "soon"}})
    assert untyped.status_code == 422 and set(untyped.json["errors"]) == {"customer_type", "first_day"}
    with desk.app.app_context():  # a request of its own, as in production (the test's context caches the locale)
        english = supervisor.client.post("/api/v1/callback-plans",
                                         json={"data": {**VIP_WEEK, "customer_type": "friend"}},
                                         headers={**supervisor.user.headers, "Accept-Language": "en"})
    assert english.json["errors"] == {"customer_type": "choose a customer type"}
    assert untyped.json["errors"]["customer_type"] != "choose a customer type", "Chinese by default"
    nobody = supervisor.post("/callback-plans", json={"data": {**VIP_WEEK, "building": "9栋"}})
    assert nobody.status_code == 422 and list(nobody.json["errors"]) == ["building"]
    assert supervisor.post("/callback-plans", json={"data": {**VIP_WEEK, "project": "nowhere"}}).status_code == 404
    assert supervisor.post("/callback-plans", json={"data": ["vip"]}).status_code == 400
    assert supervisor.get("/callback-plans", query_string={"due_from": "March"}).json["errors"] == {
        "due_from": "日期，如 2026-03-02"}
    assert supervisor.get("/callback-plans/schedule", query_string={"days": 0}).status_code == 400
    assert supervisor.get("/callback-plans", query_string={"status": "lost"}).status_code == 400
    assert plans(supervisor) == [], "nothing refused was kept"


def test_the_console_keeps_what_was_typed_in_a_refused_plan(app: Flask, desk: Desk) -> None:
    refused = logged_in(app, "supervisor").post("/callbacks/plan", {**VIP_WEEK, "last_day": "2026-03-01"})
    assert refused.status_code == 422
    assert 'value="2026-03-01"' in refused.get_data(as_text=True)


def test_an_agent_may_not_plan_nor_read_callback_plans(app: Flask, desk: Desk) -> None:
    agent = desk.staff.agent
    assert agent.post("/callback-plans", json={"data": VIP_WEEK}).status_code == 403
    assert agent.get("/callback-plans").status_code == 403
    assert agent.get("/callback-plans/schedule").status_code == 403
    desk.staff.supervisor.post("/callback-plans", json={"data": VIP_WEEK})
    plan_id = plans(desk.staff.supervisor)[0]["id"]
    assert agent.get(f"/callback-plans/{plan_id}").status_code == 403
    assert agent.post(f"/callback-plans/{plan_id}/cancel").status_code == 403
    console = logged_in(app, "agent")
    assert console.get("/callbacks").status_code == 403
    assert console.post("/callbacks/plan", VIP_WEEK).status_code == 403


def test_a_supervisor_of_another_project_neither_sees_nor_plans_its_callbacks(desk: Desk, api_as: Any) -> None:
    desk.staff.supervisor.post("/callback-plans", json={"data": VIP_WEEK})
    plan_id = plans(desk.staff.supervisor)[0]["id"]
    outsider = api_as("binjiang_supervisor", "cs_supervisor")
    limit_user_to_projects(db.session.scalars(select(User.id).where(User.username == "binjiang_supervisor")).one(),
                           ["binjiang"])
    assert plans(outsider) == []
    assert outsider.get("/callback-plans/schedule").json["items"] == []
    assert outsider.get(f"/callback-plans/{plan_id}").status_code == 404
    assert outsider.post(f"/callback-plans/{plan_id}/cancel").status_code == 404
    assert outsider.post("/callback-plans", json={"data": VIP_WEEK}).status_code == 403
    assert desk.staff.supervisor.get(f"/callback-plans/{plan_id}").json["status"] == "planned"
