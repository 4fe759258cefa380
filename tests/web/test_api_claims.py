"""Claiming and releasing tasks, the mine/group lists, and narrowing by department and assignee."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, fixture_files


@pytest.fixture
def deployed(deploy):
    deploy(fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json", "dmn_route.bpmn", "route.dmn",
                         "route_intake.json", "route_handle.json", "caller.bpmn", "callee.bpmn", "caller_pick.json",
                         "callee_repair.json"))


@pytest.fixture
def agent(api_as) -> Api:
    return api_as("li", "cs_agent")


@pytest.fixture
def colleague(api_as) -> Api:
    return api_as("wang", "cs_agent")


def record_task(agent: Api) -> dict[str, Any]:
    started = agent.start("lanes_demo")
    assert started.status_code == 201
    return started.json["tasks"][0]


def task_ids(api: Api, scope: str | None = None) -> list[str]:
    listed = api.get("/tasks" if scope is None else f"/tasks?scope={scope}")
    assert listed.status_code == 200
    return [task["id"] for task in listed.json["items"]]


# --- claim and unclaim ----------------------------------------------------------------------------------------

def test_an_unclaimed_task_waits_in_the_group_list_of_its_role_and_nobodys_own_list(deployed, agent, colleague):
    task = record_task(agent)
    assert task_ids(agent, "group") == [task["id"]]
    assert task_ids(colleague, "group") == [task["id"]]
    assert task_ids(agent) == []
    assert task_ids(agent, "mine") == []


def test_claiming_moves_the_task_from_the_group_list_to_my_own_list(deployed, agent, colleague):
    task = record_task(agent)
    claimed = agent.post(f"/tasks/{task['id']}/claim")
    assert claimed.status_code == 200
    assert claimed.json["status"] == "running"
    assert [(t["id"], t["claimed_by"]) for t in claimed.json["tasks"]] == [(task["id"], "li")]
    assert task_ids(agent) == [task["id"]]
    assert task_ids(agent, "group") == []
    assert task_ids(colleague, "group") == []
    assert task_ids(colleague) == []


def test_a_task_claimed_by_a_colleague_cannot_be_claimed_or_completed(deployed, agent, colleague):
    task = record_task(agent)
    agent.post(f"/tasks/{task['id']}/claim")
    claim = colleague.post(f"/tasks/{task['id']}/claim")
    assert claim.status_code == 409
    assert claim.json["code"] == "task_claimed"
    complete = colleague.complete(task["id"], {"summary": "lift broken"})
    assert complete.status_code == 409
    assert complete.json["code"] == "task_claimed"
    assert colleague.get(f"/tasks/{task['id']}").json["claimed_by"] == "li"


def test_only_the_claimer_may_release_a_claim(deployed, agent, colleague):
    task = record_task(agent)
    agent.post(f"/tasks/{task['id']}/claim")
    refused = colleague.post(f"/tasks/{task['id']}/unclaim")
    assert refused.status_code == 409
    assert refused.json["code"] == "task_claimed"
    assert task_ids(agent) == [task["id"]]


def test_releasing_a_claim_returns_the_task_to_the_group(deployed, agent, colleague):
    task = record_task(agent)
    agent.post(f"/tasks/{task['id']}/claim")
    released = agent.post(f"/tasks/{task['id']}/unclaim")
    assert released.status_code == 200
    assert released.json["tasks"][0]["claimed_by"] is None
    assert task_ids(agent) == []
    assert task_ids(colleague, "group") == [task["id"]]
    assert colleague.complete(task["id"], {"summary": "lift broken"}).status_code == 200


def test_the_claimer_completes_the_task_and_it_leaves_every_list(deployed, agent, colleague):
    task = record_task(agent)
    agent.post(f"/tasks/{task['id']}/claim")
    assert agent.complete(task["id"], {"summary": "lift broken"}).status_code == 200
    assert task_ids(agent) == []
    assert task["id"] not in task_ids(colleague, "group")


def test_claiming_twice_is_harmless_and_audited_once(deployed, agent, api_as):
    task = record_task(agent)
    assert agent.post(f"/tasks/{task['id']}/claim").status_code == 200
    assert agent.post(f"/tasks/{task['id']}/claim").status_code == 200
    events = agent.get(f"/instances/{task['instance_id']}").json["events"]
    assert [event["action"] for event in events] == ["start", "claim"]


def test_a_completed_task_cannot_be_claimed_or_released(deployed, agent):
    task = record_task(agent)
    agent.complete(task["id"], {"summary": "lift broken"})
    for action in ("claim", "unclaim"):
        refused = agent.post(f"/tasks/{task['id']}/{action}")
        assert refused.status_code == 409
        assert refused.json["code"] == "task_not_open"


def test_a_wrong_role_cannot_claim(deployed, agent, api_as):
    task = record_task(agent)
    assert api_as("zheng", "technician").post(f"/tasks/{task['id']}/claim").status_code == 403
    assert task_ids(agent, "group") == [task["id"]]


def test_the_group_list_holds_only_tasks_of_my_roles(deployed, agent, api_as):
    record_task(agent)
    owner = api_as("zhao", "dept_owner")
    assert task_ids(owner, "group") == []
    handle = agent.complete(record_task(agent)["id"], {"summary": "lift broken"}).json["tasks"][0]
    assert task_ids(owner, "group") == [handle["id"]]


# --- department narrowing (dmn_route: the decision table picks the department) --------------------------------

def routed_to(agent: Api, category: str) -> dict[str, Any]:
    intake = agent.start("dmn_route").json["tasks"][0]
    moved = agent.complete(intake["id"], {"category": category})
    assert moved.status_code == 200
    [handle] = moved.json["tasks"]
    return handle


def test_a_repair_is_routed_to_the_engineering_department(deployed, agent):
    handle = routed_to(agent, "repair")
    assert (handle["name"], handle["role"], handle["department"]) == ("dept_handle", "dept_owner", "engineering")


def test_only_owners_of_the_routed_department_see_the_task_in_their_group(deployed, agent, api_as):
    handle = routed_to(agent, "repair")
    engineering = api_as("zhao", "dept_owner", departments=("engineering",))
    property_owner = api_as("qian", "dept_owner", departments=("property",))
    assert task_ids(engineering, "group") == [handle["id"]]
    assert task_ids(property_owner, "group") == []


def test_an_owner_of_another_department_may_neither_read_claim_nor_complete(deployed, agent, api_as):
    handle = routed_to(agent, "repair")
    property_owner = api_as("qian", "dept_owner", departments=("property",))
    assert property_owner.get(f"/tasks/{handle['id']}").status_code == 403
    assert property_owner.post(f"/tasks/{handle['id']}/claim").status_code == 403
    refused = property_owner.complete(handle["id"], {"note": "not ours"})
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"
    assert property_owner.get(f"/instances/{handle['instance_id']}").status_code == 403


def test_the_owner_of_the_routed_department_completes_it(deployed, agent, api_as):
    handle = routed_to(agent, "repair")
    engineering = api_as("zhao", "dept_owner", departments=("engineering",))
    assert engineering.get(f"/tasks/{handle['id']}").status_code == 200
    assert engineering.complete(handle["id"], {"note": "sent a technician"}).json["status"] == "completed"


def test_a_complaint_goes_to_property_instead(deployed, agent, api_as):
    handle = routed_to(agent, "complaint")
    assert handle["department"] == "property"
    assert task_ids(api_as("qian", "dept_owner", departments=("property",)), "group") == [handle["id"]]
    assert task_ids(api_as("zhao", "dept_owner", departments=("engineering",)), "group") == []


def test_holding_the_department_without_the_role_is_not_enough(deployed, agent, api_as):
    handle = routed_to(agent, "repair")
    engineer = api_as("sun", "technician", departments=("engineering",))
    assert task_ids(engineer, "group") == []
    assert engineer.complete(handle["id"], {}).status_code == 403


# --- assignee narrowing (caller picks a technician; callee's repair is assigned to them) ----------------------

@pytest.fixture
def repair(deployed, api_as) -> dict[str, Any]:
    supervisor = api_as("wu", "eng_supervisor")
    pick = supervisor.start("caller").json["tasks"][0]
    [task] = supervisor.complete(pick["id"], {"technician": "zheng"}).json["tasks"]
    return task


def test_the_picked_technician_is_the_assignee_of_the_repair(repair):
    assert (repair["name"], repair["role"], repair["assignee"], repair["process_id"]) == (
        "repair", "technician", "zheng", "callee")


def test_an_assigned_task_is_in_the_assignees_own_list_without_claiming(repair, api_as):
    zheng = api_as("zheng", "technician")
    assert task_ids(zheng) == [repair["id"]]
    assert task_ids(zheng, "group") == []


def test_another_technician_neither_sees_nor_may_act_on_an_assigned_task(repair, api_as):
    other = api_as("zhou", "technician")
    assert task_ids(other, "group") == []
    assert task_ids(other) == []
    assert other.get(f"/tasks/{repair['id']}").status_code == 403
    assert other.post(f"/tasks/{repair['id']}/claim").status_code == 403
    assert other.complete(repair["id"], {"hours": 1}).status_code == 403


def test_the_assignee_completes_the_repair_and_the_dispatch_finishes(repair, api_as):
    done = api_as("zheng", "technician").complete(repair["id"], {"hours": 2})
    assert done.status_code == 200
    assert done.json == {"id": repair["instance_id"], "status": "completed", "tasks": []}


def test_the_assignee_may_claim_and_release_their_own_task(repair, api_as):
    zheng = api_as("zheng", "technician")
    assert zheng.post(f"/tasks/{repair['id']}/claim").json["tasks"][0]["claimed_by"] == "zheng"
    assert zheng.post(f"/tasks/{repair['id']}/unclaim").json["tasks"][0]["claimed_by"] is None
    assert task_ids(zheng) == [repair["id"]]


# --- scope=all -------------------------------------------------------------------------------------------------

def test_only_admins_may_list_all_open_tasks(deployed, agent, api_as, repair):
    task = record_task(agent)
    refused = agent.get("/tasks?scope=all")
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"
    assert set(task_ids(api_as("root", "admin"), "all")) == {task["id"], repair["id"]}


def test_an_unknown_scope_is_a_bad_request(deployed, agent):
    refused = agent.get("/tasks?scope=everything")
    assert refused.status_code == 400
    assert refused.json["code"] == "invalid_request"
    assert "scope" in refused.json["errors"]
