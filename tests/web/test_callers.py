"""Who is calling, through HTTP (GET /api/v1/callers): the owner or caller of a phone, their units and tickets, what
the new-ticket form fills in; the owner of a picked unit; only for who may record calls, within their projects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.services.people.organisation import limit_user_to_projects
from app.services.people.users import find_user
from tests.web.ticket_estate import OWNER_PHONE, intake, set_up_estate


@pytest.fixture
def estate(app, deploy):
    set_up_estate(deploy)


@pytest.fixture
def agent(api_as, estate):
    return api_as("wang", "cs_agent")


def open_ticket(agent, **overrides):
    response = agent.post("/tickets", json={"data": intake(**overrides)})
    assert response.status_code == 201, response.json
    return response.json


def caller(api, **args):
    response = api.get("/callers", query_string=args)
    assert response.status_code == 200, response.json
    return response.json


def test_an_owner_calling_is_named_with_their_unit_and_open_ticket_and_the_form_is_filled(agent):
    opened = open_ticket(agent)["ticket"]
    found = caller(agent, phone="138 0013 8000")
    assert (found["name"], found["is_owner"], found["known"]) == ("张伟", True, True)
    assert [(u["project_name"], u["code"]) for u in found["units"]] == [("兰亭苑", "3栋-0102")]
    assert [(t["number"], t["stage"], t["due_at"]) for t in found["open_tickets"]] == [
        (opened["number"], "handling", "2026-03-03T01:00:00+00:00")]
    assert found["recent_tickets"] == []
    assert found["fill"] == {"project": "lanting", "unit": "3栋-0102", "caller_name": "张伟", "phone": OWNER_PHONE}


def test_a_caller_who_is_not_the_owner_is_known_by_the_name_they_gave_and_their_closed_ticket_is_recent(agent):
    opened = open_ticket(agent, unit="5栋-0801", caller_name="租户小李", phone="13512345678")
    task = opened["instance"]["tasks"][0]
    assert agent.complete(task["id"], {"outcome": "resolved", "satisfaction": "satisfied"}).status_code == 200
    found = caller(agent, phone="13512345678")
    assert (found["name"], found["is_owner"], found["units"], found["open_tickets"]) == ("租户小李", False, [], [])
    assert [t["number"] for t in found["recent_tickets"]] == [opened["ticket"]["number"]]
    assert found["fill"]["unit"] == "5栋-0801"


def test_the_last_digits_of_one_number_find_its_caller_but_of_several_numbers_fill_nothing(agent):
    open_ticket(agent)
    assert caller(agent, phone="8000")["name"] == "张伟"
    open_ticket(agent, unit="5栋-0801", caller_name="王芳", phone="13600138000")  # also ends in 8000
    several = caller(agent, phone="8000")
    assert len(several["open_tickets"]) == 2
    assert several["fill"] == {"project": None, "unit": None, "caller_name": None, "phone": None}


def test_a_picked_unit_gives_its_owner_name_and_phone(agent):
    found = caller(agent, project="lanting", unit="5栋-0801")
    assert (found["name"], found["phone"], found["is_owner"]) == ("王芳", "13600136000", True)
    assert found["fill"] == {"project": "lanting", "unit": "5栋-0801", "caller_name": "王芳", "phone": "13600136000"}


def test_an_unknown_number_is_a_new_caller(agent):
    found = caller(agent, phone="13312345678")
    assert (found["known"], found["name"], found["units"], found["open_tickets"]) == (False, None, [], [])


def test_a_user_of_one_project_learns_nothing_of_another_projects_owners_or_tickets(agent, api_as):
    open_ticket(agent, project="binjiang", unit="3栋-0102", caller_name="赵六", phone="13700137000")
    limited = api_as("zhou", "cs_agent")
    limit_user_to_projects(find_user("zhou").id, ["lanting"])
    found = caller(limited, phone="13700137000")
    assert (found["known"], found["name"], found["units"], found["open_tickets"]) == (False, None, [], [])
    assert caller(limited, project="binjiang", unit="3栋-0102")["name"] is None


def test_only_who_may_record_calls_may_ask_who_is_calling(api_as, estate):
    technician = api_as("zheng", "technician", departments=("engineering",))
    assert technician.get("/callers", query_string={"phone": OWNER_PHONE}).status_code == 403


@pytest.mark.parametrize(("args", "field"), [({}, "phone"), ({"phone": "12a"}, "phone"), ({"phone": "123"}, "phone"),
                                             ({"project": "lanting"}, "unit"),
                                             ({"project": "lanting", "unit": "3\u0000"}, "unit")])
def test_a_bad_question_is_refused_naming_the_field(agent, args, field):
    response = agent.get("/callers", query_string=args)
    assert response.status_code == 400
    assert field in response.json["errors"]


def test_an_old_closed_ticket_is_no_longer_recent(agent, clock):
    opened = open_ticket(agent)
    task = opened["instance"]["tasks"][0]
    assert agent.complete(task["id"], {"outcome": "resolved", "satisfaction": "satisfied"}).status_code == 200
    clock.advance(timedelta(days=120))
    assert caller(agent, phone=OWNER_PHONE)["recent_tickets"] == []
