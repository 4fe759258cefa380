"""What changes for staff when an admin changes a setting: duplicates, repeat repairs, reminders, level 3."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from app.services.settings import change_setting
from app.worker import Worker
from tests.scenarios.conftest import (  # noqa: F401  (the shipped flows, their staff, the estate's database)
    START,
    database_url,
    desk,
    estate,
    estate_template,
    staff,
)

TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"
INTAKE = {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
          "channel": "hotline", "category": "repair", "part": "plumbing", "description": "厨房水管漏水",
          "urgency": "normal"}


@pytest.fixture
def agent(app, deploy, api_as):
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202", owner_name="张先生", owner_phone="13800138000", handover_date=date(2024, 6, 1))
    return api_as("wang", "cs_agent")


@pytest.fixture
def set_setting(app, clock):
    admin = create_user("boss", password="secret-pw-1", roles=("admin",), clock=clock)

    def change(key: str, typed: str) -> None:
        change_setting(key, typed, user=admin, clock=clock)

    return change


def open_ticket(agent, **changes):
    response = agent.post("/tickets", json={"data": {**INTAKE, **changes}})
    assert response.status_code == 201, response.json
    return response.json


def resolve(agent, opened):
    response = agent.complete(opened["instance"]["tasks"][0]["id"], {"outcome": "resolved"})
    assert response.status_code == 200, response.json
    return agent.get(f"/tickets/{opened['ticket']['number']}").json


def duplicates(agent):
    return [ticket["number"] for ticket in agent.get("/tickets/duplicates", query_string={
        "project": "lanting", "unit": "3-1202", "category": "repair"}).json["items"]]


def bell(user):
    return [(item["kind"], item["params"].get("level")) for item in user.get("/notifications").json["items"]]


def test_a_shorter_duplicate_window_stops_offering_a_ticket_received_before_it(agent, set_setting, clock):
    closed = resolve(agent, open_ticket(agent))["number"]
    clock.advance(timedelta(days=15))
    assert duplicates(agent) == [closed]  # inside the default 30 days
    set_setting("duplicate_window_days", "10")
    assert duplicates(agent) == []


def test_a_shorter_repeat_window_no_longer_flags_a_repair_after_it(agent, set_setting, clock):
    set_setting("repeat_repair_window_days", "30")
    resolve(agent, open_ticket(agent))
    clock.advance(timedelta(days=40))  # a repeat repair under the default 90 days
    assert open_ticket(agent)["ticket"]["repeat_repair"] is False


def test_the_assignee_is_reminded_at_the_share_of_the_limit_the_admin_set(agent, set_setting, app, clock):
    set_setting("reminder_fraction", "0.5")
    open_ticket(agent)  # due 24 hours after the call
    clock.advance(timedelta(hours=11, minutes=59))
    Worker(app).run_pending()
    assert bell(agent) == []
    clock.advance(timedelta(minutes=2))  # the default 80 % would wait until 19 h 12 min
    Worker(app).run_pending()
    assert bell(agent) == [("due_soon", None)]


def test_level_three_comes_the_admins_share_of_the_limit_after_the_deadline(agent, set_setting, app, clock, api_as):
    manager = api_as("zhao", "property_manager")
    set_setting("level3_extra_fraction", "0.25")
    opened = open_ticket(agent)
    clock.advance(timedelta(hours=24 + 6, minutes=1))  # the default 50 % would wait until 36 h
    Worker(app).run_pending()
    assert ("escalated", 3) in bell(manager)
    assert agent.get(f"/tickets/{opened['ticket']['number']}").json["escalation_level"] == 3


def test_a_forwarded_consultation_is_due_the_reply_hours_the_admin_set(desk, staff, set_setting):  # noqa: F811
    set_setting("consultation_reply_hours", "8")
    ticket = desk.open(category="consultation", part=None, description="车位能不能转租？")
    desk.handle(staff.agent, ticket, "answer_consultation", {"answered_on_the_spot": False, "forward_to": "property"})
    assert desk.ticket(ticket)["due_at"] == (START + timedelta(hours=8)).isoformat()
