"""Tickets through the JSON API: numbers, indexed columns, closing, reopening, duplicates, projects."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from app.extensions import db
from app.services.figures.dashboard import dashboard
from app.services.people.organisation import create_project, create_unit, limit_user_to_projects
from app.services.people.users import find_user
from app.services.work import tickets
from app.services.work.ticket_numbers import numbering_engine
from tests.support.passes import postgresql_pass

TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"


def intake(**overrides):
    return {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
            "channel": "hotline", "category": "repair", "part": "plumbing", "description": "厨房水管漏水",
            "urgency": "normal", **overrides}


@pytest.fixture
def estate(app, deploy):
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    create_unit("lanting", "3-1202", owner_name="张先生", owner_phone="13800138000", handover_date=date(2024, 6, 1))
    create_unit("lanting", "5-0801", handover_date=date(2019, 1, 1))
    create_unit("binjiang", "1-0101")


@pytest.fixture
def agent(api_as, estate):
    return api_as("wang", "cs_agent")


def open_ticket(agent, **overrides):
    response = agent.post("/tickets", json={"data": intake(**overrides)})
    assert response.status_code == 201, response.json
    return response.json


def resolve(agent, opened, **data):
    task = opened["instance"]["tasks"][0]
    response = agent.complete(task["id"], {"outcome": "resolved", **data})
    assert response.status_code == 200, response.json
    return agent.get(f"/tickets/{opened['ticket']['number']}").json


def test_tickets_are_numbered_per_business_day_in_order(agent, clock):
    first = open_ticket(agent)["ticket"]["number"]
    second = open_ticket(agent)["ticket"]["number"]
    clock.advance(timedelta(hours=16))  # 01:00 next day in Shanghai
    next_day = open_ticket(agent)["ticket"]["number"]
    assert (first, second, next_day) == ("KF-20260302-0001", "KF-20260302-0002", "KF-20260303-0001")


def test_a_new_ticket_shows_what_was_recorded_and_the_flow_set(agent):
    ticket = open_ticket(agent)["ticket"]
    assert (ticket["category"], ticket["unit"], ticket["caller"], ticket["phone"]) == (
        "repair", "3-1202", "张先生", "13800138000")
    assert (ticket["stage"], ticket["department"], ticket["escalation_level"]) == ("handling", "property", 0)
    assert ticket["due_at"] == "2026-03-03T01:00:00+00:00"  # 24 h after the call
    assert ticket["closed_at"] is None


def test_a_ticket_closed_in_time_counts_as_closed_in_time_and_first_time(agent, clock):
    opened = open_ticket(agent)
    clock.advance(timedelta(hours=3))
    closed = resolve(agent, opened, satisfaction="satisfied")
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "resolved", "satisfied")
    assert closed["closed_at"] == "2026-03-02T04:00:00+00:00"
    assert closed["closed_in_time"] is True
    assert closed["closed_first_time"] is True


def test_a_ticket_closed_after_its_deadline_is_late(agent, clock):
    opened = open_ticket(agent)
    clock.advance(timedelta(hours=25))
    assert resolve(agent, opened)["closed_in_time"] is False


def test_a_reworked_ticket_is_not_closed_the_first_time(agent):
    assert resolve(agent, open_ticket(agent), rework_count=1)["closed_first_time"] is False


def test_a_dissatisfied_callback_reopens_the_ticket_as_a_linked_complaint_at_level_two(agent):
    opened = open_ticket(agent)
    original = resolve(agent, opened, satisfaction="dissatisfied", reopen_as_complaint=True)
    assert original["reopened"] is True
    assert original["closed_first_time"] is False
    reopened = agent.get("/tickets/KF-20260302-0002").json
    assert (reopened["category"], reopened["escalation_level"]) == ("complaint", 2)
    assert reopened["unit"] == original["unit"] and reopened["closed_at"] is None
    assert original["number"] in reopened["description"]


def test_open_tickets_of_the_same_unit_and_category_are_offered_as_duplicates(agent):
    same = open_ticket(agent)["ticket"]["number"]
    open_ticket(agent, unit="5-0801")
    open_ticket(agent, category="complaint")
    found = agent.get("/tickets/duplicates", query_string={"project": "lanting", "unit": "3-1202",
                                                           "category": "repair"}).json["items"]
    assert [ticket["number"] for ticket in found] == [same]


def test_a_ticket_closed_more_than_thirty_days_ago_is_no_duplicate(agent, clock):
    resolve(agent, open_ticket(agent))
    clock.advance(timedelta(days=31))
    found = agent.get("/tickets/duplicates", query_string={"project": "lanting", "unit": "3-1202",
                                                           "category": "repair"}).json["items"]
    assert found == []


def test_an_attached_call_is_recorded_on_the_ticket_without_a_new_ticket(agent, admin_api):
    number = open_ticket(agent)["ticket"]["number"]
    attached = agent.post(f"/tickets/{number}/calls", json={"data": {"caller_name": "张太太", "phone": "13900139000"}})
    assert attached.status_code == 200
    assert attached.json["attached_calls"] == 1
    events = admin_api.get(f"/instances/{attached.json['instance_id']}").json["events"]
    assert [event["action"] for event in events][-2:] == ["call_attached", "chased"]  # an open ticket: a chase
    assert agent.get("/tickets/KF-20260302-0002").status_code == 404


def test_a_repeat_repair_of_the_same_unit_and_part_within_ninety_days_is_flagged_on_both(agent, clock):
    first = resolve(agent, open_ticket(agent))
    clock.advance(timedelta(days=40))
    again = open_ticket(agent)["ticket"]
    assert again["repeat_repair"] is True
    assert agent.get(f"/tickets/{first['number']}").json["repeat_repair"] is True
    other_part = open_ticket(agent, part="electrical")["ticket"]
    assert other_part["repeat_repair"] is False


def test_a_user_limited_to_one_project_never_sees_another_projects_tickets(agent, api_as):
    elsewhere = open_ticket(agent, project="binjiang", unit="1-0101")["ticket"]["number"]
    limited = api_as("zhou", "cs_agent")
    limit_user_to_projects(find_user("zhou").id, ["lanting"])
    assert limited.get(f"/tickets/{elsewhere}").status_code == 404
    refused = limited.post("/tickets", json={"data": intake(project="binjiang", unit="1-0101")})
    assert refused.status_code == 403
    found = limited.get("/tickets/duplicates", query_string={"project": "binjiang", "unit": "1-0101",
                                                             "category": "repair"}).json["items"]
    assert found == []


def test_an_unknown_project_is_refused_on_the_field(agent):
    refused = agent.post("/tickets", json={"data": intake(project="nowhere")})
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["project"]


def test_a_technician_may_not_open_tickets(api_as, estate):
    technician = api_as("zheng", "technician")
    assert technician.post("/tickets", json={"data": intake()}).status_code == 403


@pytest.fixture
def admin_api(api_as):
    return api_as("root", "admin")


@pytest.mark.concurrency
def test_twenty_tickets_opened_at_once_get_twenty_different_numbers(app, agent):
    barrier = threading.Barrier(20)
    numbers: list[str] = []
    failures: list[object] = []

    def open_one():
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            response = client.post("/api/v1/tickets", json={"data": intake()}, headers=agent.user.headers)
            (numbers if response.status_code == 201 else failures).append(
                response.json["ticket"]["number"] if response.status_code == 201 else response.json)
            db.session.remove()

    threads = [threading.Thread(target=open_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(numbers) == [f"KF-20260302-{n:04d}" for n in range(1, 21)]


@postgresql_pass("the numbers' own pool is PostgreSQL's (SQLite numbers in the intake's transaction)")
def test_the_numbers_pool_keeps_a_connection_for_each_thread_of_a_web_worker(app, agent):
    """A gunicorn worker's 4 threads taking numbers at once, round after round, open 4 connections once: a smaller
    pool closed the extra connections after each number and opened new ones for the next."""
    numbers = numbering_engine(db.engine)
    opened: list[object] = []
    event.listen(numbers, "connect", lambda *_args: opened.append(1))
    for _ in range(3):
        held = [numbers.connect() for _ in range(4)]  # gunicorn.conf.py: 4 threads per worker
        for connection in held:
            connection.close()
    assert len(opened) == 4
    assert agent.post("/tickets", json={"data": intake()}).status_code == 201
    assert len(opened) == 4  # an intake takes its number on one of them


def test_a_call_whose_recording_failed_leaves_its_number_unused_on_postgresql_and_free_on_sqlite(app, agent,
                                                                                                  monkeypatch):
    """On PostgreSQL the number is committed on its own before the ticket (concurrent intakes do not wait for each
    other), so a failed intake leaves a gap in the day's numbers; on SQLite it is given back (README, "Tickets")."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error answer, not the exception

    def disk_full(*_args, **_kwargs):
        raise RuntimeError("could not extend file: No space left on device")

    # The last write of the intake (the access-log line of the phone it shows), after its number and its counts.
    monkeypatch.setattr(tickets, "add_phone_views", disk_full)
    assert agent.post("/tickets", json={"data": intake()}).status_code == 500
    monkeypatch.undo()

    after = open_ticket(agent)["ticket"]["number"]
    on_postgresql = db.engine.dialect.name == "postgresql"
    assert after == ("KF-20260302-0002" if on_postgresql else "KF-20260302-0001")
    assert agent.get("/tickets/KF-20260302-0001").status_code == (404 if on_postgresql else 200)
    assert open_ticket(agent)["ticket"]["number"] == ("KF-20260302-0003" if on_postgresql else "KF-20260302-0002")
    assert dashboard(start=date(2026, 3, 2), end=date(2026, 3, 2)).totals.received == 2  # nor was it counted


def test_units_are_looked_up_by_what_the_agent_types(agent):
    found = agent.get("/units", query_string={"project": "lanting", "q": "3-"}).json["items"]
    assert [(unit["code"], unit["owner_name"], unit["handover_date"]) for unit in found] == [
        ("3-1202", "张先生", "2024-06-01")]
    assert agent.get("/units", query_string={"project": "lanting", "q": "张"}).json["items"][0]["code"] == "3-1202"
    assert agent.get("/units").status_code == 400


def test_a_user_limited_to_one_project_lists_and_looks_up_only_that_project(agent, api_as):
    limited = api_as("zhou", "cs_agent")
    limit_user_to_projects(find_user("zhou").id, ["lanting"])
    assert [p["key"] for p in limited.get("/projects").json["items"]] == ["lanting"]
    assert [p["key"] for p in agent.get("/projects").json["items"]] == ["binjiang", "lanting"]
    assert limited.get("/units", query_string={"project": "binjiang", "q": ""}).json["items"] == []
