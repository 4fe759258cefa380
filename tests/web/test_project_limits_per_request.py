"""The projects a user is limited to are read with the user on every request (bearer token or session): an
admin's change applies at that user's next request, with no sign-in again and nothing stale in a process."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.services.people.organisation import create_project, limit_user_to_projects
from app.services.people.users import find_user
from tests.console_client import Browser
from tests.web.front_desk import make_estate, open_ticket


def project_keys(response: Any) -> set[str]:
    assert response.status_code == 200, response.json
    return {item["key"] for item in response.json["items"]}


def test_a_limit_set_after_sign_in_applies_at_the_next_request_and_lifting_it_shows_every_project(
        app: Flask, api_as) -> None:
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    agent = api_as("li", "cs_agent")
    browser = Browser(app.test_client())
    assert browser.log_in("li").status_code == 302
    assert project_keys(agent.get("/projects")) == {"lanting", "binjiang"}

    limit_user_to_projects(find_user("li").id, ["lanting"])
    assert project_keys(agent.get("/projects")) == {"lanting"}
    assert project_keys(browser.get("/api/v1/projects")) == {"lanting"}

    limit_user_to_projects(find_user("li").id, [])
    assert project_keys(agent.get("/projects")) == {"lanting", "binjiang"}
    assert project_keys(browser.get("/api/v1/projects")) == {"lanting", "binjiang"}


def test_a_ticket_of_a_project_taken_away_is_no_longer_found_by_the_same_token(deploy, api_as) -> None:
    make_estate(deploy)
    agent = api_as("li", "cs_agent")
    number = open_ticket(agent)  # a lanting ticket
    assert agent.get(f"/tickets/{number}").status_code == 200

    limit_user_to_projects(find_user("li").id, ["binjiang"])
    assert agent.get(f"/tickets/{number}").status_code == 404
    assert agent.get("/tickets", query_string={"q": "8000"}).json["items"] == []
