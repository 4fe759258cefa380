"""Deploying definitions: POST /definitions by designers, versioning, `flask deploy` from disk, broken sets."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.extensions import db
from app.models import Bundle
from app.services.definitions.deploy import deploy_from_disk
from tests.conftest import FIXTURES, Api, fixture_files

TOP_LEVEL = ["caller", "dmn_route", "five_tasks", "gateway_demo", "lanes_demo", "no_condition", "script_escape",
             "script_escape2", "script_ok", "timer_date_demo", "timer_demo"]
BROKEN = sorted(path.name for path in (FIXTURES / "broken").iterdir() if path.is_dir())


def upload(designer: Api, files: dict[str, bytes]) -> Any:
    """POST /definitions with ``files`` as multipart form data, encoded in memory (no spooled temp file)."""
    parts = MultiDict([("files", FileStorage(io.BytesIO(content), filename=name)) for name, content in files.items()])
    boundary, body = encode_multipart(parts)
    return designer.client.post("/api/v1/definitions", data=body, headers=designer.user.headers,
                                content_type=f"multipart/form-data; boundary={boundary}")


def versions_of(response: Any) -> dict[str, int]:
    return {version["process_id"]: version["version"] for version in response.json["versions"]}


def latest_versions(admin: Api) -> dict[str, int]:
    return {item["id"]: item["version"] for item in admin.get("/processes").json["items"]}


def bundle_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Bundle))


def replaced(content: bytes, old: str, new: str) -> bytes:
    assert old.encode() in content
    return content.replace(old.encode(), new.encode())


def lanes_record_requiring_phone() -> bytes:
    form = json.loads(fixture_files("lanes_record.json")["lanes_record.json"])
    form["required"] = ["summary", "phone"]
    return json.dumps(form, ensure_ascii=False).encode()


def lanes_v2_handled_by_supervisor() -> bytes:
    """lanes.bpmn whose second lane belongs to cs_supervisor and whose second step has a new name."""
    content = fixture_files("lanes.bpmn")["lanes.bpmn"]
    return replaced(replaced(content, 'name="dept_owner"', 'name="cs_supervisor"'), "处理 / Handle", "复核 / Review")


@pytest.fixture
def designer(api_as) -> Api:
    return api_as("lin", "designer")


@pytest.fixture
def admin(api_as) -> Api:
    return api_as("root", "admin")


@pytest.fixture
def agent(api_as) -> Api:
    return api_as("li", "cs_agent")


@pytest.fixture
def deployed(designer) -> None:
    assert upload(designer, fixture_files()).status_code == 201


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """A definitions folder on disk: a copy of the top-level fixtures."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    for path in FIXTURES.iterdir():
        if path.is_file():
            shutil.copy(path, folder / path.name)
    return folder


# --- uploading -------------------------------------------------------------------------------------------------

def test_a_designer_deploys_every_top_level_process_as_version_1(designer, admin):
    deployed = upload(designer, fixture_files())
    assert deployed.status_code == 201
    assert versions_of(deployed) == dict.fromkeys(TOP_LEVEL, 1)
    titles = {v["process_id"]: v["title"] for v in deployed.json["versions"]}
    assert titles["lanes_demo"] == "泳道示例 / Lanes demo"
    assert latest_versions(admin) == dict.fromkeys(TOP_LEVEL, 1)


def test_uploading_the_same_files_again_changes_nothing(deployed, designer, admin):
    count = bundle_count()
    again = upload(designer, fixture_files())
    assert again.status_code == 200
    assert again.json["versions"] == []
    assert {v["process_id"]: v["version"] for v in again.json["unchanged"]} == dict.fromkeys(TOP_LEVEL, 1)
    assert again.json["message"].startswith("没有变化")
    assert bundle_count() == count
    assert latest_versions(admin) == dict.fromkeys(TOP_LEVEL, 1)


def test_uploading_a_single_unchanged_file_changes_nothing(deployed, designer):
    again = upload(designer, fixture_files("lanes.bpmn"))
    assert (again.status_code, again.json["versions"]) == (200, [])
    assert [(v["process_id"], v["version"]) for v in again.json["unchanged"]] == [("lanes_demo", 1)]


def test_an_admin_may_deploy(admin):
    assert upload(admin, fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json")).status_code == 201


@pytest.mark.parametrize("role", ["cs_agent", "cs_supervisor", "eng_supervisor", "dept_head", "technician"])
def test_other_roles_may_not_deploy_and_nothing_is_stored(api_as, admin, role):
    refused = upload(api_as("someone", role), fixture_files())
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"
    assert latest_versions(admin) == {}
    assert bundle_count() == 0


def test_an_upload_without_files_is_a_bad_request(designer):
    refused = designer.client.post("/api/v1/definitions", data={}, headers=designer.user.headers,
                                   content_type="multipart/form-data")
    assert refused.status_code == 400
    assert refused.json["code"] == "invalid_request"


def test_an_unsupported_file_type_is_refused_by_name(designer, admin):
    refused = upload(designer, {**fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json"),
                                "notes.txt": b"remember the milk"})
    assert refused.status_code == 422
    assert refused.json["code"] == "invalid_definition"
    assert [p["file"] for p in refused.json["problems"]] == ["notes.txt"]
    assert latest_versions(admin) == {}


def test_a_diagram_larger_than_2_mib_is_refused_by_name(designer, admin):
    files = fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json")
    files["lanes.bpmn"] = replaced(files["lanes.bpmn"], "</bpmn:definitions>",
                                   "<!-- " + "x" * (2 * 1024 * 1024) + " --></bpmn:definitions>")
    refused = upload(designer, files)
    assert refused.status_code == 422
    assert [(p["file"], p["element_id"]) for p in refused.json["problems"]] == [("lanes.bpmn", None)]
    assert latest_versions(admin) == {}


def test_an_upload_beyond_the_request_limit_is_413_in_the_json_error_shape(app, designer):
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    refused = upload(designer, {"huge.bpmn": too_big})
    assert refused.status_code == 413
    assert set(refused.json) >= {"code", "message", "errors"}


def test_a_form_that_is_not_json_is_refused_and_nothing_is_stored(deployed, designer, admin):
    refused = upload(designer, {"lanes_record.json": b'{"type": "object", '})
    assert refused.status_code == 422
    assert {p["file"] for p in refused.json["problems"]} == {"lanes_record.json"}
    assert latest_versions(admin)["lanes_demo"] == 1


# --- versions ----------------------------------------------------------------------------------------------------

def test_a_changed_form_gives_a_new_version_only_to_the_process_using_it(deployed, designer, admin):
    changed = upload(designer, {"lanes_record.json": lanes_record_requiring_phone()})
    assert changed.status_code == 201
    assert versions_of(changed) == {"lanes_demo": 2}
    assert latest_versions(admin) == {**dict.fromkeys(TOP_LEVEL, 1), "lanes_demo": 2}


def test_a_form_shared_by_several_processes_versions_each_of_them(deployed, designer):
    form = replaced(fixture_files("five_task.json")["five_task.json"], "备注 / Note", "说明 / Remark")
    changed = upload(designer, {"five_task.json": form})
    assert versions_of(changed) == dict.fromkeys(
        ["five_tasks", "no_condition", "script_escape", "script_escape2", "script_ok"], 2)


def test_an_instance_started_on_v1_keeps_validating_against_v1s_form(deployed, designer, agent):
    old = agent.start("lanes_demo").json
    upload(designer, {"lanes_record.json": lanes_record_requiring_phone()})
    new = agent.start("lanes_demo").json

    old_form = agent.get(f"/tasks/{old['tasks'][0]['id']}").json["form"]
    assert old_form["required"] == ["summary"]
    assert agent.complete(old["tasks"][0]["id"], {"summary": "lift broken"}).status_code == 200

    refused = agent.complete(new["tasks"][0]["id"], {"summary": "lift broken"})
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"phone"}
    assert agent.get(f"/instances/{old['id']}").json["bundle_version"] == 1
    assert agent.get(f"/instances/{new['id']}").json["bundle_version"] == 2


def test_an_instance_started_on_v1_continues_on_v1s_diagram(deployed, designer, agent):
    old = agent.start("lanes_demo").json
    assert versions_of(upload(designer, {"lanes.bpmn": lanes_v2_handled_by_supervisor()})) == {"lanes_demo": 2}
    new = agent.start("lanes_demo").json

    [old_next] = agent.complete(old["tasks"][0]["id"], {"summary": "lift broken"}).json["tasks"]
    [new_next] = agent.complete(new["tasks"][0]["id"], {"summary": "lift broken"}).json["tasks"]
    assert (old_next["title"], old_next["role"]) == ("处理 / Handle", "dept_owner")
    assert (new_next["title"], new_next["role"]) == ("复核 / Review", "cs_supervisor")


def test_a_changed_called_process_gives_its_caller_a_new_version(deployed, designer, admin, api_as):
    supervisor = api_as("wu", "eng_supervisor")
    old = supervisor.start("caller").json
    callee = replaced(fixture_files("callee.bpmn")["callee.bpmn"], "维修 / Repair", "上门维修 / On-site repair")
    changed = upload(designer, {"callee.bpmn": callee})
    assert changed.status_code == 201
    assert versions_of(changed) == {"caller": 2}
    assert "callee" not in latest_versions(admin)

    new = supervisor.start("caller").json
    [old_repair] = supervisor.complete(old["tasks"][0]["id"], {"technician": "zheng"}).json["tasks"]
    [new_repair] = supervisor.complete(new["tasks"][0]["id"], {"technician": "zheng"}).json["tasks"]
    assert old_repair["title"] == "维修 / Repair"
    assert new_repair["title"] == "上门维修 / On-site repair"


def test_an_old_dispatch_checks_the_repair_against_the_called_process_form_it_started_with(deployed, designer, api_as):
    supervisor, technician = api_as("wu", "eng_supervisor"), api_as("zheng", "technician")
    old = supervisor.start("caller").json
    form = json.loads(fixture_files("callee_repair.json")["callee_repair.json"])
    form["properties"]["parts"] = {"type": "string", "title": "配件 / Parts", "minLength": 1}
    form["required"] = ["hours", "parts"]
    assert versions_of(upload(designer, {"callee_repair.json": json.dumps(form).encode()})) == {"caller": 2}
    new = supervisor.start("caller").json

    [old_repair] = supervisor.complete(old["tasks"][0]["id"], {"technician": "zheng"}).json["tasks"]
    [new_repair] = supervisor.complete(new["tasks"][0]["id"], {"technician": "zheng"}).json["tasks"]
    assert technician.complete(old_repair["id"], {"hours": 2}).json["status"] == "completed"
    refused = technician.complete(new_repair["id"], {"hours": 2})
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"parts"}


def test_going_back_to_the_first_content_is_a_new_version_too(deployed, designer, agent):
    upload(designer, {"lanes_record.json": lanes_record_requiring_phone()})
    back = upload(designer, fixture_files("lanes_record.json"))
    assert versions_of(back) == {"lanes_demo": 3}
    started = agent.start("lanes_demo").json
    assert agent.complete(started["tasks"][0]["id"], {"summary": "lift broken"}).status_code == 200
    assert agent.get(f"/instances/{started['id']}").json["bundle_version"] == 3


# --- deploying from disk at start-up -----------------------------------------------------------------------------

def test_deploying_from_disk_twice_deploys_only_once(app, disk):
    runtime = app.extensions["kefu"]
    first = deploy_from_disk(runtime, disk, disk)
    assert {v.process_id: v.version for v in first} == dict.fromkeys(TOP_LEVEL, 1)
    assert deploy_from_disk(runtime, disk, disk) == []


def test_diagrams_and_forms_may_live_in_separate_folders(app, tmp_path, admin):
    bpmn_dir, forms_dir = tmp_path / "bpmn", tmp_path / "forms"
    bpmn_dir.mkdir()
    forms_dir.mkdir()
    for path in FIXTURES.iterdir():
        if path.is_file():
            shutil.copy(path, (forms_dir if path.suffix == ".json" else bpmn_dir) / path.name)
    deployed = deploy_from_disk(app.extensions["kefu"], bpmn_dir, forms_dir)
    assert {v.process_id for v in deployed} == set(TOP_LEVEL)
    assert latest_versions(admin) == dict.fromkeys(TOP_LEVEL, 1)


def test_a_restart_never_rolls_back_a_version_deployed_through_the_api(app, disk, designer, admin, agent):
    runtime = app.extensions["kefu"]
    deploy_from_disk(runtime, disk, disk)
    assert versions_of(upload(designer, {"lanes.bpmn": lanes_v2_handled_by_supervisor()})) == {"lanes_demo": 2}

    assert deploy_from_disk(runtime, disk, disk) == []
    assert latest_versions(admin)["lanes_demo"] == 2
    started = agent.start("lanes_demo").json
    [review] = agent.complete(started["tasks"][0]["id"], {"summary": "lift broken"}).json["tasks"]
    assert review["title"] == "复核 / Review"


def test_a_change_on_disk_deploys_that_change_and_keeps_what_came_by_api(app, disk, designer, admin):
    runtime = app.extensions["kefu"]
    deploy_from_disk(runtime, disk, disk)
    upload(designer, {"lanes.bpmn": lanes_v2_handled_by_supervisor()})
    gateway = disk / "gateway.bpmn"
    gateway.write_bytes(replaced(gateway.read_bytes(), "修复 / Fix", "维修 / Repair it"))

    deployed = deploy_from_disk(runtime, disk, disk)
    assert [(v.process_id, v.version) for v in deployed] == [("gateway_demo", 2)]
    assert latest_versions(admin) == {**dict.fromkeys(TOP_LEVEL, 1), "gateway_demo": 2, "lanes_demo": 2}


def test_a_file_changed_on_disk_is_deployed_over_the_api_version(app, disk, designer, admin, agent):
    runtime = app.extensions["kefu"]
    deploy_from_disk(runtime, disk, disk)
    upload(designer, {"lanes.bpmn": lanes_v2_handled_by_supervisor()})
    lanes = disk / "lanes.bpmn"
    lanes.write_bytes(replaced(lanes.read_bytes(), "处理 / Handle", "办理 / Process"))

    assert [(v.process_id, v.version) for v in deploy_from_disk(runtime, disk, disk)] == [("lanes_demo", 3)]
    started = agent.start("lanes_demo").json
    [handle] = agent.complete(started["tasks"][0]["id"], {"summary": "lift broken"}).json["tasks"]
    assert (handle["title"], handle["role"]) == ("办理 / Process", "dept_owner")


def test_flask_deploy_reports_what_it_deployed_and_then_that_nothing_changed(app, disk, designer, admin):
    app.config.update(BPMN_DIR=disk, FORMS_DIR=disk)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["deploy"])
    assert first.exit_code == 0, first.output
    assert "deployed lanes_demo v1" in first.output

    upload(designer, {"lanes.bpmn": lanes_v2_handled_by_supervisor()})
    again = runner.invoke(args=["deploy"])
    assert again.exit_code == 0, again.output
    assert "nothing changed on disk" in again.output
    assert latest_versions(admin)["lanes_demo"] == 2


def test_flask_deploy_refuses_a_broken_file_on_disk_and_names_it(app, disk, admin):
    app.config.update(BPMN_DIR=disk, FORMS_DIR=disk)
    shutil.copy(FIXTURES / "broken" / "lane_no_role" / "lane_no_role.bpmn", disk / "lane_no_role.bpmn")
    result = app.test_cli_runner().invoke(args=["deploy"])
    assert result.exit_code != 0
    assert "lane_janitor" in result.output
    assert latest_versions(admin) == {}


# --- broken sets ---------------------------------------------------------------------------------------------------

def broken_set(name: str) -> tuple[dict[str, bytes], str | None]:
    folder = FIXTURES / "broken" / name
    expected = (folder / "EXPECTED.txt").read_text().strip()
    files = {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name != "EXPECTED.txt"}
    return files, None if expected == "-" else expected


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_set_is_refused_naming_the_element_and_nothing_is_stored(deployed, designer, admin, name):
    files, element_id = broken_set(name)
    before, count = latest_versions(admin), bundle_count()
    refused = upload(designer, files)
    assert refused.status_code == 422
    assert refused.json["code"] == "invalid_definition"
    assert set(refused.json) >= {"code", "message", "errors", "problems"}
    problems = refused.json["problems"]
    assert problems and all(set(problem) == {"file", "element_id", "message"} for problem in problems)
    assert element_id in [problem["element_id"] for problem in problems]
    assert latest_versions(admin) == before
    assert bundle_count() == count


@pytest.mark.parametrize("name", BROKEN)
def test_every_problem_of_a_broken_set_points_at_the_broken_diagram(designer, name):
    files, _ = broken_set(name)
    [diagram] = [file for file in files if file.endswith(".bpmn")]
    problems = upload(designer, files).json["problems"]
    assert {problem["file"] for problem in problems} == {diagram}


@pytest.mark.parametrize("name", ["xxe", "billion_laughs"])
def test_hostile_xml_is_refused_without_expanding_entities(designer, name):
    files, _ = broken_set(name)
    refused = upload(designer, files)
    assert refused.status_code == 422
    assert "root:" not in refused.get_data(as_text=True)
    assert "lol" not in json.dumps(refused.json["problems"])


def test_a_good_change_uploaded_with_a_broken_diagram_is_not_deployed_either(deployed, designer, admin):
    files, _ = broken_set("lane_no_role")
    refused = upload(designer, {**files, "lanes_record.json": lanes_record_requiring_phone()})
    assert refused.status_code == 422
    assert latest_versions(admin)["lanes_demo"] == 1
