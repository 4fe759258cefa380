"""Authentication, the one error shape, malformed requests, and keyset pagination of the task list."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import ApiToken, User
from tests.conftest import Api, fixture_files

ERROR_KEYS = {"code", "message", "errors"}


@pytest.fixture
def deployed(deploy):
    deploy(fixture_files("lanes.bpmn", "lanes_record.json", "lanes_handle.json"))


@pytest.fixture
def agent(api_as) -> Api:
    return api_as("li", "cs_agent")


@pytest.fixture
def served_as_in_production(app):
    """Let an unexpected exception become the 500 response a client would get, instead of raising in the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.is_json
    assert set(response.json) >= ERROR_KEYS
    assert response.json["code"] == code
    assert isinstance(response.json["message"], str) and response.json["message"]
    assert isinstance(response.json["errors"], dict)


# --- authentication ----------------------------------------------------------------------------------------------

PROTECTED = [
    ("get", "/api/v1/processes"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/00000000-0000-0000-0000-000000000000"),
    ("post", "/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete"),
    ("post", "/api/v1/processes/lanes_demo/instances"),
    ("get", "/api/v1/instances/1"),
    ("post", "/api/v1/definitions"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Bearer ", "Basic bGk6c2VjcmV0LXB3LTE="])
def test_every_call_without_valid_credentials_is_401(client, method, path, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = getattr(client, method)(path, headers=headers, json={"data": {}} if method == "post" else None)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_is_refused_once_revoked(agent, clock):
    assert agent.get("/processes").status_code == 200
    db.session.execute(update(ApiToken).values(revoked_at=clock.now()))
    db.session.commit()
    assert_error(agent.get("/processes"), 401, "unauthorized")


def test_a_deactivated_user_is_refused(agent):
    db.session.execute(update(User).where(User.username == "li").values(is_active=False))
    db.session.commit()
    assert_error(agent.get("/tasks"), 401, "unauthorized")


def test_the_scheme_name_is_case_insensitive(client, agent):
    token = agent.user.token
    assert client.get("/api/v1/processes", headers={"Authorization": f"bearer {token}"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/openapi.json"])
def test_health_and_the_api_description_need_no_token(client, path):
    assert client.get(path).status_code == 200


# --- one error shape -----------------------------------------------------------------------------------------------

def test_an_unknown_task_is_a_json_404(agent):
    assert_error(agent.get("/tasks/00000000-0000-0000-0000-000000000000"), 404, "not_found")


def test_an_unknown_route_is_a_json_404(agent):
    assert_error(agent.get("/no-such-thing"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(agent):
    assert_error(agent.get("/tasks/00000000-0000-0000-0000-000000000000/complete"), 405, "method_not_allowed")


def test_a_forbidden_call_is_a_json_403(agent):
    assert_error(agent.get("/tasks?scope=all"), 403, "forbidden")


def test_invalid_form_data_is_a_json_422_with_per_field_errors(deployed, agent):
    task = agent.start("lanes_demo").json["tasks"][0]
    refused = agent.complete(task["id"], {"summary": ""})
    assert_error(refused, 422, "invalid_form")
    assert list(refused.json["errors"]) == ["summary"]
    assert all(isinstance(message, str) for message in refused.json["errors"].values())


# --- malformed requests ----------------------------------------------------------------------------------------

def post_raw(agent: Api, path: str, body: str, content_type: str = "application/json") -> Any:
    return agent.client.post(f"/api/v1{path}", data=body, headers={**agent.user.headers, "Content-Type": content_type})


@pytest.mark.parametrize("body", ['{"data": {', "not json", "[1, 2]", '"data"'])
def test_malformed_json_when_starting_is_400(deployed, agent, body):
    assert_error(post_raw(agent, "/processes/lanes_demo/instances", body), 400, "invalid_request")


@pytest.mark.parametrize("body", ['{"data": {', "not json", "[1, 2]", "null"])
def test_malformed_json_when_completing_is_400_and_the_task_stays_open(deployed, agent, body):
    task = agent.start("lanes_demo").json["tasks"][0]
    assert_error(post_raw(agent, f"/tasks/{task['id']}/complete", body), 400, "invalid_request")
    assert agent.get(f"/tasks/{task['id']}").json["state"] == "open"


def test_completing_without_a_body_is_400(deployed, agent):
    task = agent.start("lanes_demo").json["tasks"][0]
    assert_error(agent.post(f"/tasks/{task['id']}/complete"), 400, "invalid_request")


def test_a_body_with_keys_besides_data_is_400_naming_them(deployed, agent):
    task = agent.start("lanes_demo").json["tasks"][0]
    refused = agent.post(f"/tasks/{task['id']}/complete", json={"data": {"summary": "x"}, "summary": "x"})
    assert_error(refused, 400, "invalid_request")
    assert set(refused.json["errors"]) == {"summary"}


def test_json_sent_as_plain_text_is_400(deployed, agent):
    assert_error(post_raw(agent, "/processes/lanes_demo/instances", '{"data": {}}', "text/plain"), 400,
                 "invalid_request")


# --- pagination --------------------------------------------------------------------------------------------------

@pytest.fixture
def five_open_tasks(deployed, agent, clock) -> list[str]:
    """Five open record tasks, two of them created in the same instant (the id breaks the tie)."""
    ids = []
    for minutes in (0, 1, 1, 2, 3):
        clock.set(clock.now().replace(minute=minutes))
        ids.append(agent.start("lanes_demo").json["tasks"][0]["id"])
    clock.advance(timedelta(minutes=10))
    return ids


def pages_of(api: Api, *, limit: int, most: int) -> list[list[str]]:
    """Task ids of the group list, page by page, following ``next`` until it is null (at most ``most`` pages)."""
    pages: list[list[str]] = []
    query: dict[str, Any] = {"scope": "group", "limit": limit}
    while len(pages) < most:
        page = api.get("/tasks", query_string=query)
        assert page.status_code == 200
        pages.append([task["id"] for task in page.json["items"]])
        if page.json["next"] is None:
            return pages
        query["cursor"] = page.json["next"]
    raise AssertionError(f"still a next cursor after {most} pages")


def test_paging_one_by_one_visits_every_task_once_oldest_first(five_open_tasks, agent):
    pages = pages_of(agent, limit=1, most=6)
    assert all(len(page) <= 1 for page in pages)
    seen = [task_id for page in pages for task_id in page]
    assert sorted(seen) == sorted(five_open_tasks)
    assert len(seen) == len(set(seen))
    assert (seen[0], seen[3], seen[4]) == (five_open_tasks[0], five_open_tasks[3], five_open_tasks[4])
    assert set(seen[1:3]) == set(five_open_tasks[1:3])  # same instant: the id decides, in some stable order


def test_the_last_page_has_no_next_cursor(five_open_tasks, agent):
    page = agent.get("/tasks?scope=group&limit=5")
    assert len(page.json["items"]) == 5
    assert page.json["next"] is None


def test_a_page_of_two_points_at_the_third_task(five_open_tasks, agent):
    first = agent.get("/tasks?scope=group&limit=2").json
    second = agent.get("/tasks", query_string={"scope": "group", "limit": 2, "cursor": first["next"]}).json
    assert len(first["items"]) == len(second["items"]) == 2
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in second["items"]}
    assert second["items"][-1]["id"] == five_open_tasks[3]


@pytest.mark.parametrize("limit", ["0", "-1", "201", "ten", "1.5", ""])
def test_a_limit_outside_1_to_200_is_400(agent, limit):
    refused = agent.get(f"/tasks?limit={limit}")
    assert_error(refused, 400, "invalid_request")
    assert "limit" in refused.json["errors"]


@pytest.mark.parametrize("limit", ["1", "200"])
def test_the_limits_1_and_200_are_accepted(agent, limit):
    assert agent.get(f"/tasks?limit={limit}").status_code == 200


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("cursor", [
    pytest.param("%%%", id="not-base64"),
    pytest.param(cursor_of("no separator"), id="no-separator"),
    pytest.param(cursor_of("yesterday|abc"), id="not-a-date"),
    pytest.param(cursor_of("2026-03-02T01:00:00|abc"), id="date-without-time-zone"),
    pytest.param(cursor_of("0001-01-01T00:00:00+14:00|abc"), id="date-before-year-1-in-utc"),
])
def test_a_tampered_cursor_is_400_not_a_crash(five_open_tasks, served_as_in_production, agent, cursor):
    refused = agent.get("/tasks", query_string={"scope": "group", "cursor": cursor})
    assert_error(refused, 400, "invalid_request")
    assert "cursor" in refused.json["errors"]


@pytest.mark.parametrize("path", ["/instances/2147483648", "/notices/99999999999", "/surveys/99999999999",
                                  "/callback-plans/99999999999", "/handover/units/99999999999"])
def test_an_id_beyond_the_databases_integer_is_a_404_not_a_database_error(api_as, path: str) -> None:
    response = api_as("boss", "admin").get(path)
    assert response.status_code == 404
    assert set(response.json) == ERROR_KEYS
