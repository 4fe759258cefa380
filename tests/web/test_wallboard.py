"""The CS supervisor's wallboard through HTTP: today's figures for tickets recorded through the API, what is overdue
or due soon, the per-person work, the project limits and who may open it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Ticket
from app.services.people.organisation import limit_user_to_projects
from app.services.people.users import find_user
from tests.console_client import Browser
from tests.web.front_desk import agent_fixture, estate_fixture, intake, open_ticket, person, supervisor_fixture  # noqa: F401 - fixtures


def board(browser: Browser, query: str = "") -> dict:
    response = browser.get(f"/wallboard/data{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.json


def test_the_wallboard_counts_todays_calls_new_tickets_and_attached_calls(agent, supervisor):
    first = open_ticket(agent)
    open_ticket(agent, unit="3-1202", description="客厅灯不亮")
    open_ticket(agent, project="binjiang", unit="1-0101")
    attached = agent.post(f"/tickets/{first}/calls", json={"data": {"caller_name": "张先生", "description": "催一下"}})
    assert attached.status_code == 200, attached.json

    figures = board(supervisor)

    assert (figures["calls"], figures["new_tickets"], figures["attached_calls"], figures["chases"]) == (4, 3, 1, 1)
    assert figures["open_total"] == 3
    assert figures["stages"] == [{"stage": "handling", "label": "处理中", "count": 3}]
    assert [line["number"] for line in figures["chased_list"]] == [first]
    assert figures["chased_list"][0]["chases"] == 1
    assert figures["day"] == "2026-03-02"


def test_each_agents_tickets_recorded_and_tasks_completed_today_are_shown(agent, api_as, supervisor):
    other = api_as("li", "cs_agent")
    response = agent.post("/tickets", json={"data": intake()})
    open_ticket(agent)
    open_ticket(other)
    task = response.json["instance"]["tasks"][0]
    assert agent.complete(task["id"], {"outcome": "resolved"}).status_code == 200

    people = {row["name"]: (row["recorded"], row["tasks_done"]) for row in board(supervisor)["agents"]}

    assert people == {"wang": (2, 1), "li": (1, 0)}
    assert board(supervisor)["open_total"] == 2


def test_a_ticket_shows_as_due_soon_two_hours_before_its_limit_then_as_overdue(agent, supervisor, clock):
    number = open_ticket(agent)  # 09:00, due in 24 hours
    assert (board(supervisor)["overdue"], board(supervisor)["soon_due"]) == (0, 0)

    clock.advance(timedelta(hours=22, minutes=30))  # 07:30 the next morning
    supervisor.log_in("chen")  # the night's idle session has ended
    figures = board(supervisor)
    assert (figures["overdue"], figures["soon_due"]) == (0, 1)
    assert [(line["number"], line["due"]) for line in figures["soon_due_list"]] == [(number, "09:00")]
    assert figures["calls"] == 0  # a new business day

    clock.advance(timedelta(hours=1, minutes=40))  # 09:10
    supervisor.log_in("chen")
    figures = board(supervisor)
    assert (figures["overdue"], figures["soon_due"]) == (1, 0)
    assert figures["overdue_list"][0]["number"] == number
    assert figures["overdue_list"][0]["place"] == "兰亭苑 3-1202"


def test_night_holds_waiting_for_the_morning_are_listed(agent, supervisor):
    number = open_ticket(agent)
    open_ticket(agent)
    # What the night shift's reception writes on a ticket held for the morning (the fixture flow has no night).
    db.session.execute(update(Ticket).where(Ticket.number == number).values(stage="night_hold"))
    db.session.commit()

    figures = board(supervisor)

    assert figures["night_holds"] == 1
    assert [(line["number"], line["stage"]) for line in figures["night_hold_list"]] == [(number, "夜间待交接")]


def test_a_supervisor_limited_to_a_project_sees_only_its_tickets(agent, app, make_user, estate):
    open_ticket(agent)
    open_ticket(agent, project="binjiang", unit="1-0101")
    limited = person(app, make_user, "zhao", "cs_supervisor")
    limit_user_to_projects(find_user("zhao").id, ["binjiang"])

    figures = board(limited)
    assert (figures["calls"], figures["open_total"]) == (1, 1)
    assert board(limited, "?project=lanting")["open_total"] == 1  # not one of theirs: ignored

    unlimited = person(app, make_user, "chen", "cs_supervisor")
    assert board(unlimited)["open_total"] == 2
    assert board(unlimited, "?project=lanting")["open_total"] == 1


def test_the_wall_page_carries_its_figures_and_polls_every_30_seconds(agent, supervisor):
    open_ticket(agent)

    page = supervisor.get("/wallboard").get_data(as_text=True)

    assert "客服主管看板" in page
    embedded = json.loads(re.search(r'id="wallboard-data">(.*?)</script>', page, re.S).group(1))
    assert embedded["new_tickets"] == 1
    assert 'data-refresh-seconds="30"' in page and 'data-url="/wallboard/data"' in page


@pytest.mark.parametrize("role", ["cs_agent", "technician"])
def test_agents_and_technicians_may_not_open_the_wallboard(app, make_user, estate, role):
    browser = person(app, make_user, "someone", role)
    assert browser.get("/wallboard").status_code == 403
    assert browser.get("/wallboard/data").status_code == 403


def test_a_manager_may_open_the_wallboard(app, make_user, estate):
    assert person(app, make_user, "feng", "property_manager").get("/wallboard").status_code == 200
