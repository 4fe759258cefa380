"""What the front-desk tests share (wallboard, daily reception log, knowledge base): an estate of two projects on
the fixture reception flow, calls recorded through the API, and staff signed in to the console. A test module
imports the fixtures it uses (``estate``, ``agent``, ``supervisor``, registered under those names)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.services.people.organisation import create_project, create_unit
from tests.console_client import Browser

TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"


def intake(**overrides):
    return {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
            "channel": "hotline", "category": "repair", "part": "plumbing", "description": "厨房水管漏水",
            "urgency": "normal", **overrides}


def make_estate(deploy) -> None:
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    create_unit("lanting", "3-1202", handover_date=date(2024, 6, 1))
    create_unit("binjiang", "1-0101", handover_date=date(2024, 6, 1))


def open_ticket(agent, **overrides) -> str:
    response = agent.post("/tickets", json={"data": intake(**overrides)})
    assert response.status_code == 201, response.json
    return response.json["ticket"]["number"]


def person(app, make_user, username: str, role: str) -> Browser:
    """A new user of ``role``, signed in to the console."""
    make_user(username, role)
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


@pytest.fixture(name="estate")
def estate_fixture(app, deploy) -> None:
    make_estate(deploy)


@pytest.fixture(name="agent")
def agent_fixture(api_as, estate):
    return api_as("wang", "cs_agent")


@pytest.fixture(name="supervisor")
def supervisor_fixture(app, make_user, estate) -> Browser:
    return person(app, make_user, "chen", "cs_supervisor")
