"""Reading and completing a task: the order of the checks, and what a form lets through."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app.extensions import db
from app.models import ProcessInstance
from tests.conftest import Api, ApiUser, fixture_files

UNDECLARED = {"undeclared_field": "x"}  # invalid for every form: it names no declared field


@pytest.fixture
def deployed(deploy):
    deploy(fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json", "gateway.bpmn", "gateway_judge.json",
                         "gateway_fix.json", "gateway_explain.json", "no_condition.bpmn", "five_task.json",
                         "timer.bpmn", "timer_reply.json", "timer_escalate.json", "timer_date.bpmn",
                         "timer_set_limit.json", "timer_work.json"))


@pytest.fixture
def agent(api_as) -> Api:
    return api_as("li", "cs_agent")


@pytest.fixture
def roleless(client, clock) -> Api:
    """A signed-in user who holds no role at all (make_user would give cs_agent)."""
    from app.services.people.auth import issue_token
    from app.services.people.users import create_user

    user = create_user("nobody", password="secret-pw-1", roles=(), clock=clock)
    return Api(client, ApiUser("nobody", issue_token(user, clock)))


def first_task(started: Any) -> dict[str, Any]:
    assert started.status_code == 201, started.json
    return started.json["tasks"][0]


def record_task(agent: Api) -> str:
    return first_task(agent.start("lanes_demo"))["id"]


# --- the order of the checks: 404 -> 403 -> 409 -> 422 -------------------------------------------------------
# Each situation fails every later check too (invalid data throughout), so the status proves which check ran first.

Situation = Callable[..., tuple[Api, str]]


def unknown_task_for_a_user_without_roles(roleless: Api, **_: Any) -> tuple[Api, str]:
    return roleless, str(uuid.uuid4())


def unknown_task_for_an_admin(api_as: Any, **_: Any) -> tuple[Api, str]:
    return api_as("root", "admin"), str(uuid.uuid4())


def id_that_is_no_uuid(api_as: Any, **_: Any) -> tuple[Api, str]:
    return api_as("root", "admin"), "not-a-task"


def open_task_for_a_wrong_role(agent: Api, api_as: Any, **_: Any) -> tuple[Api, str]:
    return api_as("zheng", "technician"), record_task(agent)


def completed_task_for_a_wrong_role(agent: Api, api_as: Any, **_: Any) -> tuple[Api, str]:
    task_id = record_task(agent)
    assert agent.complete(task_id, {"summary": "lift broken"}).status_code == 200
    return api_as("zheng", "technician"), task_id


def completed_task_for_its_role(agent: Api, api_as: Any, **_: Any) -> tuple[Api, str]:
    task_id = record_task(agent)
    assert agent.complete(task_id, {"summary": "lift broken"}).status_code == 200
    return api_as("wang", "cs_agent"), task_id


def task_claimed_by_a_colleague(agent: Api, api_as: Any, **_: Any) -> tuple[Api, str]:
    task_id = record_task(agent)
    assert agent.post(f"/tasks/{task_id}/claim").status_code == 200
    return api_as("wang", "cs_agent"), task_id


def task_of_an_instance_in_error(agent: Api, **_: Any) -> tuple[Api, str]:
    task_id = first_task(agent.start("no_condition"))["id"]
    assert agent.complete(task_id, {"valid": True}).json["status"] == "error"
    return agent, task_id


def task_of_a_suspended_instance(agent: Api, **_: Any) -> tuple[Api, str]:
    task = first_task(agent.start("lanes_demo"))
    db.session.get(ProcessInstance, task["instance_id"]).status = "suspended"  # no API suspends yet
    db.session.commit()
    return agent, task["id"]


def open_task_for_its_role(agent: Api, **_: Any) -> tuple[Api, str]:
    return agent, record_task(agent)


COMPLETE_ORDER = [
    pytest.param(unknown_task_for_a_user_without_roles, 404, "not_found", id="unknown-id-even-without-roles"),
    pytest.param(unknown_task_for_an_admin, 404, "not_found", id="unknown-id-even-for-admin"),
    pytest.param(id_that_is_no_uuid, 404, "not_found", id="not-a-uuid"),
    pytest.param(open_task_for_a_wrong_role, 403, "forbidden", id="wrong-role"),
    pytest.param(completed_task_for_a_wrong_role, 403, "forbidden", id="wrong-role-even-when-completed"),
    pytest.param(completed_task_for_its_role, 409, "task_not_open", id="completed-even-with-invalid-data"),
    pytest.param(task_claimed_by_a_colleague, 409, "task_claimed", id="claimed-by-other-even-with-invalid-data"),
    pytest.param(task_of_an_instance_in_error, 409, "instance_not_active", id="instance-error"),
    pytest.param(task_of_a_suspended_instance, 409, "instance_not_active", id="instance-suspended"),
    pytest.param(open_task_for_its_role, 422, "invalid_form", id="invalid-data-when-all-else-fine"),
]


@pytest.mark.parametrize(("situation", "status", "code"), COMPLETE_ORDER)
def test_completing_checks_existence_then_permission_then_state_then_data(
    deployed, agent, api_as, roleless, situation: Situation, status: int, code: str
):
    actor, task_id = situation(agent=agent, api_as=api_as, roleless=roleless)
    refused = actor.complete(task_id, UNDECLARED)
    assert refused.status_code == status
    assert refused.json["code"] == code
    assert set(refused.json) >= {"code", "message", "errors"}


@pytest.mark.parametrize(("situation", "status"), [
    pytest.param(unknown_task_for_a_user_without_roles, 404, id="unknown-id-even-without-roles"),
    pytest.param(open_task_for_a_wrong_role, 403, id="wrong-role"),
    pytest.param(completed_task_for_a_wrong_role, 403, id="wrong-role-even-when-completed"),
])
@pytest.mark.parametrize("action", ["read", "claim", "unclaim"])
def test_reading_and_claiming_check_existence_before_permission(
    deployed, agent, api_as, roleless, situation: Situation, status: int, action: str
):
    actor, task_id = situation(agent=agent, api_as=api_as, roleless=roleless)
    response = actor.get(f"/tasks/{task_id}") if action == "read" else actor.post(f"/tasks/{task_id}/{action}")
    assert response.status_code == status


def test_a_task_stays_open_after_invalid_data_and_accepts_valid_data_next(deployed, agent):
    task_id = record_task(agent)
    assert agent.complete(task_id, {"phone": "138"}).status_code == 422
    assert agent.get(f"/tasks/{task_id}").json["state"] == "open"
    assert agent.complete(task_id, {"summary": "lift broken"}).status_code == 200


# --- what a form lets through ---------------------------------------------------------------------------------

def test_a_missing_required_field_is_named(deployed, agent):
    refused = agent.complete(record_task(agent), {"phone": "138"})
    assert refused.status_code == 422
    assert refused.json["code"] == "invalid_form"
    assert set(refused.json["errors"]) == {"summary"}


def test_an_undeclared_field_is_refused_by_name(deployed, agent):
    refused = agent.complete(record_task(agent), {"summary": "lift broken", "priority": "high"})
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"priority"}


def test_a_value_of_the_wrong_type_is_named(deployed, agent):
    refused = agent.complete(record_task(agent), {"summary": 42})
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"summary"}


def test_data_that_is_not_an_object_is_refused(deployed, agent):
    refused = agent.post(f"/tasks/{record_task(agent)}/complete", json={"data": ["lift broken"]})
    assert refused.status_code == 422
    assert refused.json["code"] == "invalid_form"


def read_only_summary_on_handle(deploy: Callable[..., Any]) -> None:
    """lanes_demo whose handle form shows the summary read-only (and lists it as required)."""
    form = json.loads(fixture_files("lanes_handle.json")["lanes_handle.json"])
    form["properties"]["summary"] = {"type": "string", "title": "摘要 / Summary", "readOnly": True}
    form["required"] = ["result", "summary"]
    deploy({**fixture_files("lanes.bpmn", "lanes_record.json"), "lanes_handle.json": json.dumps(form).encode()})


def test_a_read_only_field_is_never_taken_from_the_submission(deploy, agent, api_as):
    read_only_summary_on_handle(deploy)
    owner = api_as("zhao", "dept_owner")
    handle = agent.complete(record_task(agent), {"summary": "lift broken"}).json["tasks"][0]

    done = owner.complete(handle["id"], {"result": "fixed", "summary": "nothing happened"})
    assert done.status_code == 200
    assert done.json["status"] == "completed"
    assert owner.get(f"/tasks/{handle['id']}").json["data"]["summary"] == "lift broken"
    [event] = [e for e in owner.get(f"/instances/{handle['instance_id']}").json["events"] if e["action"] == "complete"
               and e["task_id"] == handle["id"]]
    assert event["data"] == {"result": "fixed"}


def test_a_required_read_only_field_is_not_demanded_from_the_user(deploy, agent, api_as):
    read_only_summary_on_handle(deploy)
    handle = agent.complete(record_task(agent), {"summary": "lift broken"}).json["tasks"][0]
    assert api_as("zhao", "dept_owner").complete(handle["id"], {"result": "fixed"}).status_code == 200


def test_a_task_without_a_form_accepts_only_an_empty_submission(deploy, agent, api_as):
    files = fixture_files("lanes.bpmn", "lanes_record.json")
    handle_form = b'<spiffworkflow:property name="formJsonSchemaFilename" value="lanes_handle.json" />'
    assert handle_form in files["lanes.bpmn"]
    files["lanes.bpmn"] = files["lanes.bpmn"].replace(handle_form, b"")
    deploy(files)
    owner = api_as("zhao", "dept_owner")
    handle = agent.complete(record_task(agent), {"summary": "lift broken"}).json["tasks"][0]
    assert handle["form_key"] is None
    assert owner.get(f"/tasks/{handle['id']}").json["form"] is None

    refused = owner.complete(handle["id"], {"result": "fixed"})
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"result"}
    assert owner.complete(handle["id"], {}).json["status"] == "completed"


# --- reading a task and moving the instance on ----------------------------------------------------------------

def test_task_detail_shows_the_form_the_data_and_the_filled_in_instructions(deployed, agent, api_as):
    handle = agent.complete(record_task(agent), {"summary": "lift broken", "phone": "138"}).json["tasks"][0]
    detail = api_as("zhao", "dept_owner").get(f"/tasks/{handle['id']}")
    assert detail.status_code == 200
    assert detail.json["form"] == json.loads(fixture_files("lanes_handle.json")["lanes_handle.json"])
    assert detail.json["data"]["summary"] == "lift broken"
    assert detail.json["data"]["phone"] == "138"
    assert detail.json["instructions"] == "Summary: lift broken"
    assert {key: detail.json[key] for key in ("name", "role", "state")} == {
        "name": "handle", "role": "dept_owner", "state": "open"}


def test_markdown_instructions_reach_the_user_as_written(deployed, agent):
    detail = agent.get(f"/tasks/{record_task(agent)}").json
    assert detail["instructions"] == "请登记来电摘要。\n\nRecord a **summary** of the call."
    assert detail["data"] == {}


def test_completing_hands_the_instance_to_the_next_lane_and_finally_completes_it(deployed, agent, api_as):
    moved = agent.complete(record_task(agent), {"summary": "lift broken"})
    assert moved.status_code == 200
    assert moved.json["status"] == "running"
    [handle] = moved.json["tasks"]
    assert (handle["name"], handle["role"]) == ("handle", "dept_owner")

    done = api_as("zhao", "dept_owner").complete(handle["id"], {"result": "fixed"})
    assert done.status_code == 200
    assert done.json == {"id": handle["instance_id"], "status": "completed", "tasks": []}


def test_the_gateway_follows_the_judgement(deployed, agent):
    invalid = agent.complete(first_task(agent.start("gateway_demo"))["id"], {"valid": False})
    assert [task["name"] for task in invalid.json["tasks"]] == ["explain"]
    valid = agent.complete(first_task(agent.start("gateway_demo"))["id"], {"valid": True})
    assert [(task["name"], task["role"]) for task in valid.json["tasks"]] == [("fix", "dept_owner")]


def test_an_admin_may_complete_a_task_of_any_role(deployed, agent, api_as):
    done = api_as("root", "admin").complete(record_task(agent), {"summary": "lift broken"})
    assert done.status_code == 200
    assert [task["name"] for task in done.json["tasks"]] == ["handle"]


# --- deadlines ---------------------------------------------------------------------------------------------------

def test_a_task_guarded_by_a_four_hour_deadline_shows_when_it_is_due(deployed, agent):
    started = agent.start("timer_demo").json
    [reply] = started["tasks"]
    assert reply["due_at"] == "2026-03-02T05:00:00+00:00"
    assert agent.get(f"/instances/{started['id']}").json["next_timer_at"] == "2026-03-02T05:00:00+00:00"


def test_a_deadline_entered_in_shanghai_time_is_shown_in_utc(deployed, agent):
    set_limit = first_task(agent.start("timer_date_demo"))
    [work] = agent.complete(set_limit["id"], {"due": "2026-03-03T09:00:00+08:00"}).json["tasks"]
    assert (work["name"], work["due_at"]) == ("work", "2026-03-03T01:00:00+00:00")


@pytest.mark.parametrize("due", ["2026-03-03T09:00:00", "2026-03-03", "tomorrow"])
def test_a_deadline_that_is_no_full_date_time_with_offset_is_refused(deployed, agent, due):
    set_limit = first_task(agent.start("timer_date_demo"))
    refused = agent.complete(set_limit["id"], {"due": due})
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"due"}


def test_a_task_without_deadline_has_no_due_date(deployed, agent):
    assert first_task(agent.start("lanes_demo"))["due_at"] is None
