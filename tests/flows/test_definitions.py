"""The shipped diagrams, tables and forms deploy cleanly and speak Chinese."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from app.engine import DefinitionError, compile_bundle, plan_bundles, read_library
from app.engine.library import FORM_PROPERTY, NS, bpmn_tag, spiff_properties
from tests.support.fixtures import ROLES

ROOT = Path(__file__).resolve().parent.parent.parent
CHINESE = re.compile(r"[\u4e00-\u9fff]")
FORMS = sorted((ROOT / "forms").glob("*.json"))


def shipped_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for folder in ("bpmn", "forms") for path in sorted((ROOT / folder).iterdir())
            if path.suffix in (".bpmn", ".dmn", ".json")}


def test_every_shipped_bundle_deploys_with_zero_problems():
    library = read_library(shipped_files())
    assert library.problems == []
    plans, problems = plan_bundles(library)
    assert problems == []
    assert "reception" in {plan.process_id for plan in plans}
    for plan in plans:
        try:
            compile_bundle(library, plan, ROLES)
        except DefinitionError as exc:  # pragma: no cover - the assertion below shows the problems
            pytest.fail(f"{plan.process_id}: {exc.problems}")


def test_every_user_task_names_a_form_that_ships():
    library = read_library(shipped_files())
    for name, root in library.bpmn.items():
        for task in root.iter(bpmn_tag("userTask")):
            form = spiff_properties(task).get(FORM_PROPERTY)
            assert form, f"{name}: user task {task.get('id')} has no form"
            assert (ROOT / "forms" / form).is_file(), f"{name}: {task.get('id')} names missing {form}"


def test_every_lane_names_a_role():
    library = read_library(shipped_files())
    for name, root in library.bpmn.items():
        for lane in root.iterfind(".//bpmn:lane", NS):
            assert lane.get("name") in ROLES, f"{name}: lane {lane.get('id')} is named {lane.get('name')!r}"


@pytest.mark.parametrize("path", FORMS, ids=[path.name for path in FORMS])
def test_every_form_is_valid_json_schema_with_chinese_titles_and_enum_labels(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert CHINESE.search(schema.get("title", "")), f"{path.name}: the form title is not Chinese"
    for field, spec in (schema.get("properties") or {}).items():
        assert CHINESE.search(spec.get("title", "")), f"{path.name}: field {field} has no Chinese title"
        assert "enum" not in spec, f"{path.name}: {field} uses a bare enum; write oneOf with const and title"
        for choice in spec.get("oneOf", []):
            label = choice.get("title", "")
            assert CHINESE.search(label), f"{path.name}: {field}={choice.get('const')} has no Chinese label"


def test_no_read_only_field_is_required():
    for path in FORMS:
        schema = json.loads(path.read_text(encoding="utf-8"))
        properties = schema.get("properties") or {}
        assert not [name for name in schema.get("required", []) if properties.get(name, {}).get("readOnly")], path.name
