"""Ticket search through HTTP (GET /api/v1/tickets?q=… and the console's /tickets/search): every kind of query,
ranked, within the user's projects, phones masked for who may not see them, in pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.services.people.organisation import limit_user_to_projects
from app.services.people.users import find_user
from tests.console_client import Browser
from tests.web.ticket_estate import intake, set_up_estate


@pytest.fixture
def estate(app, deploy):
    set_up_estate(deploy)


@pytest.fixture
def agent(api_as, estate):
    return api_as("wang", "cs_agent")


@pytest.fixture
def open_ticket(agent, clock):
    def open_one(**overrides):
        clock.advance(timedelta(minutes=1))  # each later than the last: recency is visible in the order
        response = agent.post("/tickets", json={"data": intake(**overrides)})
        assert response.status_code == 201, response.json
        return response.json["ticket"]["number"]
    return open_one


def numbers(api, query, **args):
    response = api.get("/tickets", query_string={"q": query, **args})
    assert response.status_code == 200, response.json
    return [item["number"] for item in response.json["items"]]


def test_a_ticket_is_found_by_its_number_with_or_without_the_prefix(agent, open_ticket):
    wanted = open_ticket()
    open_ticket()
    assert numbers(agent, wanted) == [wanted]
    assert numbers(agent, wanted.removeprefix("KF-").lower()) == [wanted]


def test_a_caller_is_found_by_the_whole_phone_or_its_last_four_digits(agent, open_ticket):
    first = open_ticket(phone="13512345678", unit="5栋-0801", description="门禁卡失灵")
    second = open_ticket(phone="13512345678", unit="5栋-0801", description="门禁卡又坏了")
    open_ticket(phone="13900139000")
    assert numbers(agent, "135 1234 5678") == [second, first]
    assert numbers(agent, "5678") == [second, first]


def test_a_unit_is_found_however_the_agent_writes_it(agent, open_ticket):
    in_unit = open_ticket(unit="3栋-0102")
    open_ticket(unit="5栋-0801", description="外墙渗水")
    for written in ("3栋-0102", "3-102", "3-0102", "3栋102室"):
        assert numbers(agent, written) == [in_unit], written


def test_owner_and_caller_names_find_their_tickets(agent, open_ticket):
    owners_unit = open_ticket(unit="3栋-0102", caller_name="张太太", phone="13600136000")
    callers = open_ticket(unit="5栋-0801", caller_name="李四", description="外墙渗水")
    assert numbers(agent, "张伟") == [owners_unit]  # the registered owner of 3栋-0102
    assert numbers(agent, "李四") == [callers]


def test_words_of_the_description_are_found_wherever_they_stand(agent, open_ticket):
    kitchen = open_ticket(description="厨房水管漏水，地面积水")
    balcony = open_ticket(description="阳台地漏堵塞")
    assert numbers(agent, "漏水") == [kitchen]  # two characters, in the middle of the text
    assert numbers(agent, "水管") == [kitchen]
    assert numbers(agent, "地漏") == [balcony]
    assert numbers(agent, "卧室") == []
    assert numbers(agent, "漏水\u0000") == []  # nothing holds a NUL byte (and PostgreSQL refuses to compare one)
    assert numbers(agent, "积水 厨房") == [kitchen]  # every word, in any order


def test_exact_matches_come_first_then_the_unit_then_the_words_then_the_newest(agent, open_ticket):
    in_unit = open_ticket(unit="3栋-0102", description="阳台地漏堵塞")
    mentions_unit = open_ticket(unit="5栋-0801", description="楼上3-102漏水到我家")
    assert numbers(agent, "3-102") == [in_unit, mentions_unit]  # the newer ticket only names the unit
    phrase = open_ticket(description="厨房漏水")
    apart = open_ticket(description="厨房水管漏水")
    assert numbers(agent, "厨房漏水") == [phrase, apart]  # the words as typed, then the words apart


def test_a_user_of_one_project_never_finds_another_projects_tickets(agent, api_as, open_ticket):
    elsewhere = open_ticket(project="binjiang", unit="3栋-0102", description="电梯异响", phone="13700137000")
    here = open_ticket(project="lanting", unit="3栋-0102", description="电梯异响", phone="13700137000")
    limited = api_as("zhou", "cs_agent")
    limit_user_to_projects(find_user("zhou").id, ["lanting"])
    for query in (elsewhere, "13700137000", "7000", "3-102", "电梯", "赵六"):
        assert elsewhere not in numbers(limited, query), query
    assert numbers(limited, "电梯") == [here]
    assert set(numbers(agent, "电梯")) == {here, elsewhere}


def test_phones_are_masked_for_a_role_that_may_not_see_them(agent, api_as, open_ticket):
    number = open_ticket(phone="13512345678")
    technician = api_as("zheng", "technician", departments=("engineering",))
    found = technician.get("/tickets", query_string={"q": number}).json["items"]
    assert [(item["number"], item["phone"]) for item in found] == [(number, "135****5678")]
    assert agent.get("/tickets", query_string={"q": number}).json["items"][0]["phone"] == "13512345678"


def test_results_come_in_pages_newest_first(agent, open_ticket):
    opened = [open_ticket(description=f"第{n}次报修，天花板渗水") for n in range(7)]
    first = agent.get("/tickets", query_string={"q": "渗水", "limit": 3}).json
    second = agent.get("/tickets", query_string={"q": "渗水", "limit": 3, "cursor": first["next"]}).json
    third = agent.get("/tickets", query_string={"q": "渗水", "limit": 3, "cursor": second["next"]}).json
    pages = [[item["number"] for item in page["items"]] for page in (first, second, third)]
    assert pages == [opened[6:3:-1], opened[3:0:-1], opened[:1]]
    assert third["next"] is None


def test_words_apart_come_newest_first_over_pages(agent, open_ticket):
    """Several words are looked for among the newest tickets first on PostgreSQL (a full page there is the page),
    else through the index: the pages join up either way."""
    both = [open_ticket(description=f"厨房水管漏水，第{n}次") for n in range(4)]
    open_ticket(description="厨房门锁坏了")  # one word only
    first = agent.get("/tickets", query_string={"q": "漏水 厨房", "limit": 3}).json
    second = agent.get("/tickets", query_string={"q": "漏水 厨房", "limit": 3, "cursor": first["next"]}).json
    assert [item["number"] for item in first["items"]] == both[:0:-1]
    assert [item["number"] for item in second["items"]] == both[:1]
    assert second["next"] is None


BAD_SEARCHES = [({}, "q"), ({"q": "漏" * 101}, "q"), ({"q": "漏水", "cursor": "x"}, "cursor"),
                ({"q": "漏水", "limit": "0"}, "limit")]


@pytest.mark.parametrize(("args", "field"), BAD_SEARCHES)
def test_a_bad_search_is_refused_naming_the_field(agent, args, field):
    response = agent.get("/tickets", query_string=args)
    assert response.status_code == 400
    assert field in response.json["errors"]


def test_the_header_search_of_every_page_lists_tickets_with_their_project_stage_and_deadline(app, agent,
                                                                                                open_ticket):
    number = open_ticket(unit="3栋-0102")
    browser = Browser(app.test_client())
    assert browser.log_in("wang").status_code == 302
    inbox = browser.get("/").get_data(as_text=True)
    assert 'id="header-search"' in inbox and 'action="/tickets/search"' in inbox
    page = browser.get("/tickets/search?q=3-102")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-ticket="{number}"' in html
    assert "兰亭苑" in html and "3栋-0102" in html
    assert "search-stage" in html and "2026-03-03" in html  # its deadline, 24 h after the call
    refused = browser.get("/tickets/search?q=" + "漏" * 101)
    assert refused.status_code == 400
    assert "漏" * 101 in refused.get_data(as_text=True)  # what was typed is kept
