"""Staff limited to some projects (楼盘) see and do only those projects' work, tickets or not.

A planned callback, a notice to owners and a unit's handover have no ticket: their instance keeps the project it
was started for, and everything that limits tickets by project limits their tasks the same way — the task list
(JSON API) and the inbox (console), a task's page, claiming and completing it, the instance, the admin's
instance list and the bell. Out of project is "no such task" (404), as for a ticket's tasks; someone who works
on both projects sees both.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from app.clock import ManualClock
from app.services.outreach.planned_callbacks import ensure_planned_callbacks_job
from app.services.people.organisation import create_unit, limit_user_to_projects
from app.services.people.users import find_user
from tests.conftest import Api
from tests.console_client import Browser
from tests.scenarios.conftest import TODAY, Desk, run_timer_worker

SHANGHAI = ZoneInfo("Asia/Shanghai")
LANTING_UNIT, BINJIANG_UNIT = "8栋-0101", "2栋-0101"  # both handed over today
REACHED = {"reached": True, "satisfaction": "satisfied", "issue_raised": False, "remarks": "入住顺利。"}
WATER_CUT = {"notice_kind": "water_power_cut", "notice_title": "3栋停水通知",
             "notice_text": "因二次供水水箱清洗，3栋将暂停供水，请提前储水。", "project": "lanting",
             "buildings": "3栋", "units": "", "starts_at": "2026-03-05T09:00:00+08:00",
             "ends_at": "2026-03-05T17:00:00+08:00", "staff_audience": "cs_team"}


def limited(api_as: Any, username: str, role: str, projects: list[str]) -> Api:
    """A new user of ``role`` who works on ``projects`` only."""
    user = api_as(username, role)
    limit_user_to_projects(find_user(username).id, projects)
    return user


def group_tasks(user: Api, process_id: str) -> list[dict[str, Any]]:
    response = user.get("/tasks", query_string={"scope": "group", "limit": 200})
    assert response.status_code == 200, response.json
    return [task for task in response.json["items"] if task["process_id"] == process_id]


def console(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


@pytest.fixture
def calls(app: Flask, desk: Desk, clock: ManualClock) -> dict[str, dict[str, Any]]:
    """A new owner in each project; on Monday 9 March the worker starts their first planned callbacks.
    Returns each call's task by project, as the (unlimited) day agent lists them."""
    create_unit("lanting", LANTING_UNIT, owner_name="赵先生", owner_phone="13700000001", handover_date=TODAY)
    create_unit("binjiang", BINJIANG_UNIT, owner_name="孙女士", owner_phone="13700000002", handover_date=TODAY)
    ensure_planned_callbacks_job(now=clock.now(), timezone=app.extensions["kefu"].timezone)
    clock.set(datetime(2026, 3, 9, 8, 1, tzinfo=SHANGHAI).astimezone(UTC))
    run_timer_worker(app)
    listed = group_tasks(desk.staff.agent, "planned_callback")
    by_project = {desk.task_data(desk.staff.agent, task)["project"]: task for task in listed}
    assert sorted(by_project) == ["binjiang", "lanting"]
    return by_project


def test_an_agent_sees_and_makes_only_the_planned_callbacks_of_their_project(
        app: Flask, desk: Desk, calls: dict[str, dict[str, Any]], api_as: Any) -> None:
    ours, theirs = calls["lanting"], calls["binjiang"]
    agent = limited(api_as, "lanting_agent", "cs_agent", ["lanting"])

    assert [task["id"] for task in group_tasks(agent, "planned_callback")] == [ours["id"]]
    assert agent.get(f"/tasks/{theirs['id']}").status_code == 404
    assert agent.post(f"/tasks/{theirs['id']}/claim").status_code == 404
    assert agent.complete(theirs["id"], REACHED).status_code == 404
    assert agent.get(f"/instances/{theirs['instance_id']}").status_code == 404
    assert agent.get(f"/tasks/{ours['id']}").json["data"]["unit"] == LANTING_UNIT

    inbox = console(app, "lanting_agent")
    page = inbox.get("/?scope=group").get_data(as_text=True)
    assert f"/tasks/{ours['id']}" in page and f"/tasks/{theirs['id']}" not in page
    assert "兰亭苑" in page, "the inbox row names the call's project"
    assert inbox.get(f"/tasks/{theirs['id']}").status_code == 404
    assert inbox.post(f"/tasks/{theirs['id']}", dict(REACHED)).status_code == 404

    assert agent.complete(ours["id"], REACHED).status_code == 200
    assert desk.staff.agent.complete(theirs["id"], REACHED).status_code == 200, "unlimited staff see every project"


def test_an_agent_of_both_projects_sees_both_callbacks(
        desk: Desk, calls: dict[str, dict[str, Any]], api_as: Any) -> None:
    agent = limited(api_as, "both_agent", "cs_agent", ["lanting", "binjiang"])

    assert sorted(task["id"] for task in group_tasks(agent, "planned_callback")) == sorted(
        task["id"] for task in calls.values())
    assert agent.complete(calls["binjiang"]["id"], REACHED).status_code == 200


def test_a_manager_of_one_project_lists_only_its_callbacks_among_the_instances(
        app: Flask, desk: Desk, calls: dict[str, dict[str, Any]], api_as: Any) -> None:
    limited(api_as, "lanting_manager", "property_manager", ["lanting"])

    page = console(app, "lanting_manager").get("/admin/?process_id=planned_callback").get_data(as_text=True)
    assert [int(found) for found in re.findall(r'data-instance="(\d+)"', page)] == [calls["lanting"]["instance_id"]]
    assert console(app, "lanting_manager").get(
        f"/admin/instances/{calls['binjiang']['instance_id']}").status_code == 404


def test_a_supervisor_of_another_project_does_not_see_a_notice_to_approve_nor_hear_of_it(
        desk: Desk, api_as: Any) -> None:
    elsewhere = limited(api_as, "binjiang_super", "cs_supervisor", ["binjiang"])
    both = limited(api_as, "both_super", "cs_supervisor", ["lanting", "binjiang"])
    drafted = desk.staff.prop_owner.post("/notices", json={"data": WATER_CUT})
    assert drafted.status_code == 201, drafted.json

    [approval] = group_tasks(both, "notice")
    assert approval["name"] == "approve_notice"
    assert group_tasks(elsewhere, "notice") == []
    assert elsewhere.get(f"/tasks/{approval['id']}").status_code == 404
    assert elsewhere.complete(approval["id"], {"notice_approved": True}).status_code == 404

    response = both.complete(approval["id"], {"notice_approved": True})
    assert response.status_code == 200, response.json
    assert [n["kind"] for n in both.get("/notifications").json["items"]] == ["notice"]
    assert elsewhere.get("/notifications").json["items"] == [], "the bell of another estate's notice"


def test_a_process_started_for_a_project_the_user_does_not_work_on_is_refused_on_the_field(
        desk: Desk, api_as: Any) -> None:
    elsewhere = limited(api_as, "binjiang_owner", "dept_owner", ["binjiang"])

    response = elsewhere.start("notice", WATER_CUT)

    assert response.status_code == 422, response.json
    assert "project" in response.json["errors"]


def test_a_call_nobody_of_its_project_may_make_goes_to_the_supervisor_of_that_project(
        desk: Desk, calls: dict[str, dict[str, Any]], api_as: Any) -> None:
    """With every agent limited to lanting, binjiang's call has nobody: its project's supervisor stands in."""
    limit_user_to_projects(find_user("agent").id, ["lanting"])
    ours = limited(api_as, "binjiang_super", "cs_supervisor", ["binjiang"])
    limit_user_to_projects(find_user("supervisor").id, ["lanting"])

    assert [task["id"] for task in group_tasks(ours, "planned_callback")] == [calls["binjiang"]["id"]]
    assert group_tasks(desk.staff.supervisor, "planned_callback") == []
    assert ours.complete(calls["binjiang"]["id"], REACHED).status_code == 200


def personal_data_views(app: Flask, phone: str, username: str) -> list[tuple[str, str]]:
    """The full-phone views of ``phone`` by ``username`` in the admin's access log (as root): where, and what."""
    page = console(app, "root").get("/admin/access-log", query_string={
        "ticket": phone, "username": username, "action": "view_phone"}).get_data(as_text=True)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            for row in re.findall(r'<tr data-action="view_phone">(.*?)</tr>', page, flags=re.S)]
    return [(cells[3], cells[6]) for cells in rows]


def test_a_callbacks_phone_and_address_shown_in_full_to_the_agent_are_in_the_access_log(
        app: Flask, desk: Desk, calls: dict[str, dict[str, Any]], api_as: Any) -> None:
    ours = calls["lanting"]
    agent = limited(api_as, "lanting_agent", "cs_agent", ["lanting"])
    shown = agent.get(f"/tasks/{ours['id']}").json["data"]
    assert (shown["phone"], shown["mobile"]) == ("13700000001", "13700000001"), "the agent needs the number to call"
    page = console(app, "lanting_agent").get(f"/tasks/{ours['id']}")
    assert page.status_code == 200 and "13700000001" in page.get_data(as_text=True)

    api_as("root", "admin")
    seen = f"流程实例 {ours['instance_id']}，房号 {LANTING_UNIT}"
    assert personal_data_views(app, "13700000001", "lanting_agent") == [("任务页面", seen), ("接口读取任务", seen)]
    assert personal_data_views(app, "13700000002", "lanting_agent") == []


def test_a_supervisor_standing_in_hands_a_call_only_to_people_of_its_project(
        app: Flask, desk: Desk, calls: dict[str, dict[str, Any]], api_as: Any) -> None:
    """binjiang's call has nobody (every agent works on lanting): its supervisor may not hand it to them."""
    limit_user_to_projects(find_user("agent").id, ["lanting"])
    limited(api_as, "binjiang_super", "cs_supervisor", ["binjiang"])
    page = console(app, "binjiang_super").get(f"/tasks/{calls['binjiang']['id']}").get_data(as_text=True)
    assert "无人可处理" in page
    offered = re.findall(r'<option value="([^"]+)"', page.split('id="hand-over"')[1].split("</form>")[0]) \
        if 'id="hand-over"' in page else []
    assert "agent" not in offered, "a lanting agent may not be handed binjiang's call"
