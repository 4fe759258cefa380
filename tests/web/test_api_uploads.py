"""Uploads through POST /definitions: comments and processing instructions are no elements, a diagram
that would deploy nothing is refused with a reason, and a 200 says what is already deployed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import FIXTURES, Api, fixture_files

UPLOADS = FIXTURES / "uploads"


def upload(designer: Api, files: dict[str, bytes]) -> Any:
    parts = MultiDict([("files", FileStorage(io.BytesIO(content), filename=name)) for name, content in files.items()])
    boundary, body = encode_multipart(parts)
    return designer.client.post("/api/v1/definitions", data=body, headers=designer.user.headers,
                                content_type=f"multipart/form-data; boundary={boundary}")


def uploads(*names: str) -> dict[str, bytes]:
    return {name: (UPLOADS / name).read_bytes() for name in names}


@pytest.fixture
def designer(api_as):
    return api_as("lin", "designer")


def test_comments_and_processing_instructions_anywhere_in_a_diagram_are_ignored(designer, api_as):
    response = upload(designer, uploads("commented.bpmn", "commented_record.json"))

    assert response.status_code == 201, response.json
    assert response.json["versions"] == [{"process_id": "commented", "version": 1, "title": "带注释 / Commented"}]
    agent = api_as("wang", "cs_agent")
    started = agent.start("commented")
    assert started.status_code == 201, started.json


def test_comments_inside_a_decision_table_are_ignored(designer):
    files = fixture_files("dmn_route.bpmn", "route.dmn", "route_intake.json", "route_handle.json")
    files["route.dmn"] = files["route.dmn"].replace(b"<rule ", b"<!-- a rule follows --><rule ")
    files["dmn_route.bpmn"] = files["dmn_route.bpmn"].replace(b"<bpmn:startEvent", b"<!-- start --><bpmn:startEvent")

    response = upload(designer, files)

    assert response.status_code == 201, response.json
    assert [v["process_id"] for v in response.json["versions"]] == ["dmn_route"]


@pytest.mark.parametrize(("name", "process_id"), [
    ("sketch_not_executable.bpmn", "sketch"),  # isExecutable="false"
    ("sketch_unmarked.bpmn", "sketch_unmarked"),  # no isExecutable at all
    ("sketch_calls.bpmn", "sketch_outer"),  # a non-executable process calling another one
])
def test_a_diagram_with_nothing_executable_is_refused_saying_how_to_mark_it(designer, api_as, name, process_id):
    response = upload(designer, uploads(name))

    assert response.status_code == 422
    assert response.json["code"] == "invalid_definition"
    [problem] = response.json["problems"]
    assert (problem["file"], problem["element_id"]) == (name, process_id)
    assert 'isExecutable="true"' in problem["message"]  # the API gives the check's own (English) words
    assert "no process in this file is executable" in problem["message"]
    assert api_as("admin", "admin").get("/processes").json["items"] == []


def test_a_diagram_without_any_process_is_refused(designer):
    response = upload(designer, uploads("collaboration_only.bpmn"))

    assert response.status_code == 422
    assert [(p["file"], p["element_id"]) for p in response.json["problems"]] == [("collaboration_only.bpmn", None)]
    assert "holds no process" in response.json["problems"][0]["message"]


def test_a_decision_table_no_process_uses_is_refused_not_silently_dropped(designer):
    response = upload(designer, uploads("unused_table.dmn"))

    assert response.status_code == 422
    [problem] = response.json["problems"]
    assert problem["file"] == "unused_table.dmn"
    assert "no process uses this file" in problem["message"]


def test_an_unchanged_upload_answers_200_with_the_versions_already_deployed(designer):
    assert upload(designer, uploads("commented.bpmn", "commented_record.json")).status_code == 201

    again = upload(designer, uploads("commented.bpmn"))

    assert again.status_code == 200
    assert again.json["versions"] == []
    assert again.json["unchanged"] == [{"process_id": "commented", "version": 1, "title": "带注释 / Commented"}]
    assert again.json["message"].startswith("没有变化")


def route_files(consultation_cell: str, hit_policy: str = "UNIQUE") -> dict[str, bytes]:
    files = fixture_files("dmn_route.bpmn", "route.dmn", "route_intake.json", "route_handle.json")
    assert b'<text>"consultation"</text>' in files["route.dmn"]
    table = files["route.dmn"].replace(b'<text>"consultation"</text>', consultation_cell.encode())
    files["route.dmn"] = table.replace(b'hitPolicy="UNIQUE"', f'hitPolicy="{hit_policy}"'.encode())
    return files


def test_a_unique_table_whose_rows_overlap_is_refused_naming_the_table_and_the_rules(designer):
    response = upload(designer, route_files('<text>? in ("consultation", "repair")</text>'))

    assert response.status_code == 422
    [problem] = response.json["problems"]
    assert (problem["file"], problem["element_id"]) == ("route.dmn", "DecisionTable_route")
    assert "rules 1 and 3 overlap" in problem["message"]


def test_the_same_rows_deploy_under_hit_policy_first(designer):
    response = upload(designer, route_files('<text>? in ("consultation", "repair")</text>', hit_policy="FIRST"))

    assert response.status_code == 201, response.json


def test_a_unique_table_with_a_cell_the_check_cannot_read_is_not_refused(designer):
    response = upload(designer, route_files('<text>? != "complaint"</text>'))

    assert response.status_code == 201, response.json
