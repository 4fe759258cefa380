"""What the operations tests share: a deployment with tickets made through the API, and what staff see of it."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.services.definitions.deploy import deploy_files
from app.services.people.auth import issue_token
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from tests.conftest import Api, ApiUser
from tests.web.front_desk import TICKET_FIXTURES, intake


def staff_api(application: Flask, token: str) -> Api:
    return Api(application.test_client(), ApiUser("wang", token))


def open_ticket(agent: Api, **overrides: Any) -> dict[str, Any]:
    response = agent.post("/tickets", json={"data": intake(**overrides)})
    assert response.status_code == 201, response.json
    return response.json


def resolve(agent: Api, opened: dict[str, Any]) -> None:
    task = opened["instance"]["tasks"][0]
    assert agent.complete(task["id"], {"outcome": "resolved"}).status_code == 200


def a_deployment_with_tickets(application: Flask, clock) -> tuple[Api, list[dict[str, Any]]]:
    deploy_files(application.extensions["kefu"], {p.name: p.read_bytes() for p in TICKET_FIXTURES.iterdir()},
                 user=None)
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")
    create_unit("lanting", "5-0801")
    token = issue_token(create_user("wang", password="secret-pw-1", roles=("cs_agent",), clock=clock), clock)
    agent = staff_api(application, token)
    opened = [open_ticket(agent), open_ticket(agent, unit="5-0801"), open_ticket(agent, category="complaint")]
    resolve(agent, opened[0])
    return agent, opened


def what_staff_see(agent: Api, opened: list[dict[str, Any]]) -> list[Any]:
    seen = []
    for ticket in opened:
        seen.append(agent.get(f"/tickets/{ticket['ticket']['number']}").json)
        seen.append(agent.get(f"/instances/{ticket['instance']['id']}").json)
    return seen
