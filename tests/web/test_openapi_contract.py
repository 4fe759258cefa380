"""The OpenAPI description says what the API requires: every route is described, and what the description
calls required (a body, a query parameter) is what the API refuses to go without, and nothing more."""

from __future__ import annotations

import json
import re

import pytest

from app.web.api.system import OPENAPI_PATH

DESCRIPTION = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
OPERATIONS = [(method.upper(), path, operation) for path, item in DESCRIPTION["paths"].items()
              for method, operation in item.items() if method in ("get", "post")]
SAMPLE_PATH_VALUES = {"number": "KF-20260302-0001", "task_id": "00000000-0000-0000-0000-000000000000",
                      "instance_id": "1", "process_id": "caller", "notification_id": "1", "plan_id": "1",
                      "notice_id": "1", "recipient_id": "1", "survey_id": "1", "unit_id": "1"}


def described_routes() -> set[tuple[str, str]]:
    return {(method, path) for method, path, _ in OPERATIONS}


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def concrete(path: str) -> str:
    return "/api/v1" + re.sub(r"{(\w+)}", lambda found: SAMPLE_PATH_VALUES[found.group(1)], path)


@pytest.fixture
def admin(api_as):
    return api_as("contract_admin", "admin")


def test_every_route_of_the_api_is_described_and_every_description_is_served(app):
    assert served_routes(app) == described_routes()


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=lambda value: str(value)[:40])
def test_path_parameters_are_declared_required(method, path, operation):
    declared = {parameter["name"]: parameter.get("required") for parameter in operation.get("parameters", [])
                if parameter.get("in") == "path"}
    assert declared == dict.fromkeys(re.findall(r"{(\w+)}", path), True)


REQUIRED_BODIES = [(path, operation) for method, path, operation in OPERATIONS
                   if method == "POST" and (operation.get("requestBody") or {}).get("required")
                   and "application/json" in operation["requestBody"]["content"]]


@pytest.mark.parametrize(("path", "operation"), REQUIRED_BODIES, ids=[path for path, _ in REQUIRED_BODIES])
def test_a_post_without_its_required_body_is_refused_for_the_body(client, admin, path, operation):
    refused = client.post(concrete(path), headers=admin.user.headers)
    assert refused.status_code == 400, refused.json
    assert "body" in refused.json["errors"]


OPTIONAL_BODIES = [(path, operation) for method, path, operation in OPERATIONS
                   if method == "POST" and not (operation.get("requestBody") or {}).get("required")]


@pytest.mark.parametrize(("path", "operation"), OPTIONAL_BODIES, ids=[path for path, _ in OPTIONAL_BODIES])
def test_a_post_whose_body_is_optional_goes_without_one(client, admin, deploy, path, operation):
    deploy()
    answer = client.post(concrete(path), headers=admin.user.headers)
    assert "body" not in (answer.json or {}).get("errors", {}), answer.json


REQUIRED_QUERIES = [(path, parameter["name"]) for method, path, operation in OPERATIONS if method == "GET"
                    for parameter in operation.get("parameters", [])
                    if parameter.get("in") == "query" and parameter.get("required")]


@pytest.mark.parametrize(("path", "name"), REQUIRED_QUERIES, ids=[f"{path}?{name}" for path, name in REQUIRED_QUERIES])
def test_a_get_without_a_required_query_parameter_is_refused_naming_it(client, admin, path, name):
    refused = client.get(concrete(path), headers=admin.user.headers)
    assert refused.status_code == 400
    assert name in refused.json["errors"]
