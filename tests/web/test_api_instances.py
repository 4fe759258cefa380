"""GET /instances/<id>: where an instance stands, its audit trail, who may read it, and run-time errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from app import create_app
from app.engine import parse_count
from app.extensions import db
from app.models import Bundle
from tests.conftest import FIXTURES, Api, app_config, fixture_files


@pytest.fixture
def deployed(deploy):
    deploy(fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json", "no_condition.bpmn",
                         "gateway_judge.json", "five_task.json", "script_escape.bpmn", "script_escape2.bpmn",
                         "script_ok.bpmn", "script_enter.json"))


@pytest.fixture
def gateway_with_unknown_variable(deploy) -> None:
    """gateway_demo whose 'valid' condition also asks for a severity that no form or script ever sets."""
    files = fixture_files("gateway.bpmn", "gateway_judge.json", "gateway_fix.json", "gateway_explain.json")
    assert b"valid == True" in files["gateway.bpmn"]
    files["gateway.bpmn"] = files["gateway.bpmn"].replace(b"valid == True", b"valid == True and severity > 3")
    # The deploy's data-flow check refuses a read that nothing sets, so the diagram claims its starter sets it.
    files["gateway.bpmn"] = files["gateway.bpmn"].replace(
        b'isExecutable="true">', b'isExecutable="true"><bpmn:extensionElements><spiffworkflow:properties>'
        b'<spiffworkflow:property name="startVariables" value="severity" /></spiffworkflow:properties>'
        b'</bpmn:extensionElements>', 1)
    deploy(files)


@pytest.fixture
def agent(api_as) -> Api:
    return api_as("li", "cs_agent")


@pytest.fixture
def owner(api_as) -> Api:
    return api_as("zhao", "dept_owner")


def started(agent: Api, process_id: str) -> dict[str, Any]:
    response = agent.start(process_id)
    assert response.status_code == 201
    return response.json


def handled_lanes_instance(agent: Api, owner: Api) -> int:
    """A lanes_demo instance the agent started and recorded, and the owner claimed and handled."""
    record = started(agent, "lanes_demo")["tasks"][0]
    handle = agent.complete(record["id"], {"summary": "lift broken", "phone": "138"}).json["tasks"][0]
    owner.post(f"/tasks/{handle['id']}/claim")
    assert owner.complete(handle["id"], {"result": "fixed"}).json["status"] == "completed"
    return record["instance_id"]


# --- detail and audit trail ------------------------------------------------------------------------------------

def test_a_fresh_instance_shows_its_status_version_starter_and_open_task(deployed, agent):
    instance = started(agent, "lanes_demo")
    detail = agent.get(f"/instances/{instance['id']}")
    assert detail.status_code == 200
    body = detail.json
    assert (body["id"], body["process_id"], body["title"]) == (instance["id"], "lanes_demo", "泳道示例 / Lanes demo")
    assert (body["status"], body["bundle_version"], body["started_by"]) == ("running", 1, "li")
    assert body["started_at"] == "2026-03-02T01:00:00+00:00"
    assert body["ended_at"] is None
    assert body["error"] is None
    assert [task["name"] for task in body["tasks"]] == ["record"]


def test_the_audit_trail_has_one_event_per_step_with_the_submitted_data(deployed, agent, owner, clock):
    record = started(agent, "lanes_demo")["tasks"][0]
    clock.advance(timedelta(minutes=5))
    handle = agent.complete(record["id"], {"summary": "lift broken", "phone": "138"}).json["tasks"][0]
    clock.advance(timedelta(minutes=5))
    owner.post(f"/tasks/{handle['id']}/claim")
    owner.post(f"/tasks/{handle['id']}/unclaim")
    owner.post(f"/tasks/{handle['id']}/claim")
    clock.advance(timedelta(minutes=5))
    owner.complete(handle["id"], {"result": "fixed"})

    detail = agent.get(f"/instances/{record['instance_id']}").json
    steps = [(e["action"], e["actor"], e["task_id"], e["data"]) for e in detail["events"]]
    assert steps == [
        ("start", "li", None, {}),
        ("complete", "li", record["id"], {"summary": "lift broken", "phone": "138"}),
        ("claim", "zhao", handle["id"], None),
        ("unclaim", "zhao", handle["id"], None),
        ("claim", "zhao", handle["id"], None),
        ("complete", "zhao", handle["id"], {"result": "fixed"}),
    ]
    assert [e["at"][11:16] for e in detail["events"]] == ["01:00", "01:05", "01:10", "01:10", "01:10", "01:15"]
    assert detail["status"] == "completed"
    assert detail["ended_at"] == "2026-03-02T01:15:00+00:00"
    assert detail["tasks"] == []


def test_a_refused_submission_leaves_no_trace_in_the_audit_trail(deployed, agent):
    record = started(agent, "lanes_demo")["tasks"][0]
    agent.complete(record["id"], {"phone": "138"})
    assert [e["action"] for e in agent.get(f"/instances/{record['instance_id']}").json["events"]] == ["start"]


def test_an_unknown_instance_is_404(deployed, agent):
    missing = agent.get("/instances/4242")
    assert missing.status_code == 404
    assert missing.json["code"] == "not_found"


@pytest.mark.parametrize("instance_id", ["2147483648", "99999999999999999999"])
def test_an_instance_id_beyond_the_database_range_is_404_not_a_crash(deployed, app, agent, instance_id):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production: a crash becomes a 500 response
    missing = agent.get(f"/instances/{instance_id}")
    assert missing.status_code == 404
    assert missing.json["code"] == "not_found"


# --- who may read an instance ----------------------------------------------------------------------------------

def test_whoever_may_act_on_an_open_task_may_read_the_instance(deployed, agent, owner):
    record = started(agent, "lanes_demo")["tasks"][0]
    agent.complete(record["id"], {"summary": "lift broken"})
    assert owner.get(f"/instances/{record['instance_id']}").status_code == 200


def test_a_colleague_of_the_open_tasks_role_may_read_it_too(deployed, agent, api_as):
    instance = started(agent, "lanes_demo")
    assert api_as("wang", "cs_agent").get(f"/instances/{instance['id']}").status_code == 200


@pytest.mark.parametrize("role", ["cs_supervisor", "eng_supervisor", "property_manager", "admin"])
def test_supervisors_and_admins_may_read_any_instance(deployed, agent, owner, api_as, role):
    instance_id = handled_lanes_instance(agent, owner)
    assert api_as("boss", role).get(f"/instances/{instance_id}").status_code == 200


@pytest.mark.parametrize("role", ["technician", "designer", "night_security", "dept_head"])
def test_an_outsider_may_not_read_an_instance(deployed, agent, api_as, role):
    instance = started(agent, "lanes_demo")
    refused = api_as("outsider", role).get(f"/instances/{instance['id']}")
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"


def test_participants_keep_reading_a_completed_instance(deployed, agent, owner):
    instance_id = handled_lanes_instance(agent, owner)
    assert agent.get(f"/instances/{instance_id}").status_code == 200
    assert owner.get(f"/instances/{instance_id}").status_code == 200


def test_a_colleague_who_never_took_part_may_not_read_a_completed_instance(deployed, agent, owner, api_as):
    instance_id = handled_lanes_instance(agent, owner)
    assert api_as("wang", "cs_agent").get(f"/instances/{instance_id}").status_code == 403
    assert api_as("qian", "dept_owner").get(f"/instances/{instance_id}").status_code == 403


def test_who_only_claimed_and_released_a_task_still_took_part(deployed, agent, owner, api_as):
    record = started(agent, "lanes_demo")["tasks"][0]
    colleague = api_as("wang", "cs_agent")
    colleague.post(f"/tasks/{record['id']}/claim")
    colleague.post(f"/tasks/{record['id']}/unclaim")
    handle = agent.complete(record["id"], {"summary": "lift broken"}).json["tasks"][0]
    owner.complete(handle["id"], {"result": "fixed"})
    assert colleague.get(f"/instances/{record['instance_id']}").status_code == 200


# --- run-time errors ---------------------------------------------------------------------------------------------

def errored(agent: Api, process_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    task = started(agent, process_id)["tasks"][0]
    response = agent.complete(task["id"], data)
    assert response.status_code == 200
    assert response.json["status"] == "error"
    return task, agent.get(f"/instances/{task['instance_id']}").json


def test_a_gateway_without_a_true_condition_puts_the_instance_in_error_naming_the_gateway(deployed, agent):
    task, detail = errored(agent, "no_condition", {"valid": True})
    assert detail["status"] == "error"
    assert detail["error"]["element_id"] == "gw_choose"
    assert "gw_choose" in detail["error"]["message"]
    assert set(detail["error"]) == {"message", "element_id", "line", "trace"}
    assert [t["id"] for t in detail["tasks"]] == [task["id"]]
    assert detail["tasks"][0]["state"] == "open"


def test_the_errored_step_is_audited_with_the_submitted_data(deployed, agent):
    task, detail = errored(agent, "no_condition", {"valid": True})
    [event] = [e for e in detail["events"] if e["action"] == "error"]
    assert event["task_id"] == task["id"]
    assert event["data"]["submitted"] == {"valid": True}


def test_a_task_of_an_errored_instance_cannot_be_completed_again(deployed, agent):
    task, _ = errored(agent, "no_condition", {"valid": True})
    again = agent.complete(task["id"], {"valid": False})
    assert again.status_code == 409
    assert again.json["code"] == "instance_not_active"
    assert agent.get(f"/instances/{task['instance_id']}").json["status"] == "error"


def test_a_condition_naming_an_unknown_variable_puts_the_instance_in_error_at_its_gateway(
    gateway_with_unknown_variable, agent
):
    task, detail = errored(agent, "gateway_demo", {"valid": True})
    assert detail["error"]["element_id"] == "gw_valid"
    assert "severity > 3" in detail["error"]["message"]
    assert agent.complete(task["id"], {"valid": False}).status_code == 409


def test_the_same_condition_is_harmless_when_it_is_never_fully_evaluated(gateway_with_unknown_variable, agent):
    task = started(agent, "gateway_demo")["tasks"][0]
    moved = agent.complete(task["id"], {"valid": False})
    assert moved.json["status"] == "running"
    assert [t["name"] for t in moved.json["tasks"]] == ["explain"]


@pytest.mark.parametrize("process_id", ["script_escape", "script_escape2"])
def test_a_script_reaching_for_dunder_attributes_fails_at_its_line_and_element(deployed, agent, process_id):
    task, detail = errored(agent, process_id, {})
    assert detail["error"]["element_id"] == "evil"
    assert detail["error"]["line"] == 1
    assert "invalid attribute name" in detail["error"]["message"]
    assert detail["error"]["trace"]
    assert agent.get(f"/tasks/{task['id']}").json["data"] == {}


def test_an_instance_failing_right_at_start_is_stored_in_error_with_the_failing_line(deploy, agent):
    deploy({"fail_at_start.bpmn": (FIXTURES / "deploy" / "fail_at_start.bpmn").read_bytes()})
    response = agent.start("fail_at_start")
    assert response.status_code == 201
    assert response.json["status"] == "error"
    assert response.json["tasks"] == []
    detail = agent.get(f"/instances/{response.json['id']}").json
    assert detail["status"] == "error"
    assert (detail["error"]["element_id"], detail["error"]["line"]) == ("divide", 2)
    assert "division by zero" in detail["error"]["message"]
    assert [event["action"] for event in detail["events"]] == ["start", "error"]


def test_a_harmless_script_runs_and_its_result_reaches_the_next_task(deployed, agent, api_as):
    enter = started(agent, "script_ok")["tasks"][0]
    moved = agent.complete(enter["id"], {"n": 21})
    assert moved.json["status"] == "running"
    [review] = moved.json["tasks"]
    detail = api_as("boss", "cs_supervisor").get(f"/tasks/{review['id']}").json
    assert detail["data"]["doubled"] == 42
    assert agent.get(f"/instances/{enter['instance_id']}").json["error"] is None


# --- requests never parse BPMN -----------------------------------------------------------------------------------

def test_starting_listing_reading_claiming_and_completing_parse_no_bpmn(deployed, agent, owner):
    before = parse_count()
    record = started(agent, "lanes_demo")["tasks"][0]
    agent.get("/processes")
    agent.get("/tasks?scope=group")
    agent.get(f"/tasks/{record['id']}")
    agent.post(f"/tasks/{record['id']}/claim")
    agent.get("/tasks")
    handle = agent.complete(record["id"], {"summary": "lift broken"}).json["tasks"][0]
    owner.get(f"/tasks/{handle['id']}")
    owner.complete(handle["id"], {"result": "fixed"})
    agent.get(f"/instances/{record['instance_id']}")
    assert parse_count() == before


def test_a_restarted_server_serves_existing_instances_without_parsing_bpmn(deployed, agent, database_url, clock):
    record = started(agent, "lanes_demo")["tasks"][0]
    restarted = create_app(app_config(database_url), clock=clock)  # empty spec cache, same database
    client = restarted.test_client()
    before = parse_count()
    try:
        assert client.get(f"/api/v1/instances/{record['instance_id']}", headers=agent.user.headers).status_code == 200
        assert client.get(f"/api/v1/tasks/{record['id']}", headers=agent.user.headers).status_code == 200
        moved = client.post(f"/api/v1/tasks/{record['id']}/complete", json={"data": {"summary": "lift broken"}},
                            headers=agent.user.headers)
        assert moved.status_code == 200
        assert [task["name"] for task in moved.json["tasks"]] == ["handle"]
        assert parse_count() == before
    finally:
        with restarted.app_context():
            db.session.remove()
            db.engine.dispose()


def copy_of_newest_bundle(process_id: str, *, bundle_id: int) -> None:
    """A next version of ``process_id`` (its newest row again) with the given id: what a deploy on another node
    leaves, whose id need not be the highest when it commits."""
    bundles = Bundle.__table__
    newest = db.session.execute(select(bundles).where(bundles.c.process_id == process_id)
                                .order_by(bundles.c.version.desc()).limit(1)).one()._asdict()
    db.session.execute(insert(bundles).values(
        {**newest, "id": bundle_id, "version": newest["version"] + 1, "spec_key": f"{newest['spec_key']}-v2"}))
    db.session.commit()


def started_version(agent: Api, process_id: str) -> int:
    return int(agent.get(f"/instances/{started(agent, process_id)['id']}").json["bundle_version"])


def test_a_version_committed_below_the_newest_bundle_id_is_started_at_the_next_request(deployed, agent):
    """Two deploys on two nodes can commit out of their ids' order: a version whose id is lower than the newest row's
    still moves the bundles' stamp (their count), so this process reads the latest versions again."""
    assert started_version(agent, "lanes_demo") == 1  # this process keeps lanes_demo's latest
    copy_of_newest_bundle("no_condition", bundle_id=1000)  # another process's deploy commits first...
    assert started_version(agent, "lanes_demo") == 1
    copy_of_newest_bundle("lanes_demo", bundle_id=900)  # ...then this one, with the lower id
    assert started_version(agent, "lanes_demo") == 2
