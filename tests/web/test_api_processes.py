"""GET /processes and POST /processes/<id>/instances: who may start what, and with which data."""

from __future__ import annotations

import json

import pytest

from tests.conftest import fixture_files

AGENT_PROCESSES = {
    "dmn_route", "five_tasks", "gateway_demo", "lanes_demo", "no_condition", "script_escape", "script_escape2",
    "script_ok", "timer_date_demo", "timer_demo",
}


def with_start_form(bpmn: bytes, form: str) -> bytes:
    """lanes.bpmn with a form on its start event."""
    start = b'<bpmn:startEvent id="start">'
    assert start in bpmn
    return bpmn.replace(start, start + (
        b"<bpmn:extensionElements><spiffworkflow:properties>"
        b'<spiffworkflow:property name="formJsonSchemaFilename" value="' + form.encode() + b'" />'
        b"</spiffworkflow:properties></bpmn:extensionElements>"
    ))


@pytest.fixture
def deployed(deploy):
    deploy()


def test_agent_sees_only_the_processes_whose_first_lane_is_theirs(deployed, api_as):
    page = api_as("li", "cs_agent").get("/processes")
    assert page.status_code == 200
    assert page.json["next"] is None
    assert {item["id"] for item in page.json["items"]} == AGENT_PROCESSES


def test_each_listed_process_shows_id_title_version_and_start_form(deployed, api_as):
    items = {item["id"]: item for item in api_as("li", "cs_agent").get("/processes").json["items"]}
    assert items["lanes_demo"] == {"id": "lanes_demo", "title": "泳道示例 / Lanes demo", "version": 1,
                                   "start_form": None}


def test_engineering_supervisor_may_start_only_the_repair_dispatch(deployed, api_as):
    items = api_as("wu", "eng_supervisor").get("/processes").json["items"]
    assert [item["id"] for item in items] == ["caller"]


def test_admin_sees_every_top_level_process_but_never_a_called_one(deployed, api_as):
    ids = {item["id"] for item in api_as("root", "admin").get("/processes").json["items"]}
    assert ids == AGENT_PROCESSES | {"caller"}
    assert "callee" not in ids


@pytest.mark.parametrize("role", ["dept_owner", "technician", "designer"])
def test_a_role_that_starts_nothing_sees_an_empty_list(deployed, api_as, role):
    assert api_as("zhao", role).get("/processes").json == {"items": [], "next": None}


def test_nothing_is_listed_before_anything_is_deployed(api_as):
    assert api_as("root", "admin").get("/processes").json["items"] == []


def test_starting_returns_201_with_the_instance_and_its_first_open_task(deployed, api_as):
    started = api_as("li", "cs_agent").start("lanes_demo")
    assert started.status_code == 201
    assert started.json["status"] == "running"
    assert isinstance(started.json["id"], int)
    [task] = started.json["tasks"]
    assert (task["name"], task["title"], task["role"], task["state"]) == ("record", "登记 / Record", "cs_agent", "open")
    assert (task["instance_id"], task["process_id"], task["form_key"]) == (started.json["id"], "lanes_demo",
                                                                         "lanes_record.json")
    assert task["claimed_by"] is None and task["assignee"] is None and task["department"] is None
    assert task["created_at"] == "2026-03-02T01:00:00+00:00"


def test_starting_without_a_body_is_the_same_as_empty_data(deployed, api_as):
    started = api_as("li", "cs_agent").post("/processes/lanes_demo/instances")
    assert started.status_code == 201
    assert [task["name"] for task in started.json["tasks"]] == ["record"]


def test_starting_a_process_of_another_role_is_forbidden(deployed, api_as):
    refused = api_as("zheng", "technician").start("lanes_demo")
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"


def test_admin_may_start_any_process(deployed, api_as):
    assert api_as("root", "admin").start("caller").status_code == 201


def test_starting_an_unknown_process_is_404(deployed, api_as):
    missing = api_as("root", "admin").start("no_such_process")
    assert missing.status_code == 404
    assert missing.json["code"] == "not_found"


def test_a_called_process_cannot_be_started_on_its_own(deployed, api_as):
    assert api_as("root", "admin").start("callee").status_code == 404


def test_a_process_without_start_form_refuses_start_data_naming_the_key(deployed, api_as):
    refused = api_as("li", "cs_agent").start("lanes_demo", {"summary": "lift broken"})
    assert refused.status_code == 422
    assert refused.json["code"] == "invalid_form"
    assert set(refused.json["errors"]) == {"summary"}


def test_a_start_form_is_listed_and_checked_and_its_data_reaches_the_first_task(deploy, api_as):
    files = fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json")
    files["lanes.bpmn"] = with_start_form(files["lanes.bpmn"], "lanes_record.json")
    deploy(files)
    agent = api_as("li", "cs_agent")
    [listed] = agent.get("/processes").json["items"]
    assert listed["start_form"] == json.loads(files["lanes_record.json"])

    missing = agent.start("lanes_demo", {"phone": "123"})
    assert missing.status_code == 422
    assert set(missing.json["errors"]) == {"summary"}

    started = agent.start("lanes_demo", {"summary": "lift broken"})
    assert started.status_code == 201
    record = agent.get(f"/tasks/{started.json['tasks'][0]['id']}").json
    assert record["data"]["summary"] == "lift broken"


def test_the_list_shows_the_latest_version_once_a_process_changed(deployed, deploy, api_as):
    form = json.loads(fixture_files("lanes_record.json")["lanes_record.json"])
    form["required"] = ["summary", "phone"]
    deploy({"lanes_record.json": json.dumps(form).encode()})
    items = {item["id"]: item["version"] for item in api_as("li", "cs_agent").get("/processes").json["items"]}
    assert items["lanes_demo"] == 2
    assert items["gateway_demo"] == 1
