"""What a user or a script sends is checked against where it goes: redirects, column sizes, file names,
JSON depth, spreadsheet cells (issue 13)."""

from __future__ import annotations

import json

import pytest

from app.services.definitions.deploy import read_definition_dir
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from app.services.work.ticket_columns import INTAKE_COLUMNS, SYNCED_COLUMNS, column_length
from tests.console_client import PASSWORD, Browser
from tests.support.paths import FIXTURES, ROOT


@pytest.fixture
def browser(app, clock):
    create_user("wang", password=PASSWORD, roles=["cs_agent"], clock=clock)
    browser = Browser(app.test_client())
    browser.get("/login")
    return browser


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0a/evil.example", "/%5Cevil.example",
                                    "%20//evil.example", "//evil.example", "https://evil.example/",
                                    "/\\/evil.example", "javascript:alert(1)"])
def test_login_never_sends_the_browser_to_another_site(browser, target):
    response = browser.post(f"/login?next={target}", {"username": "wang", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_still_returns_to_the_page_asked_for(browser):
    response = browser.post("/login?next=/tasks%3Fscope%3Dgroup", {"username": "wang", "password": PASSWORD})
    assert response.headers["Location"] == "/tasks?scope=group"


def test_the_language_switch_stays_on_the_site(browser):
    response = browser.post("/language", {"lang": "en", "next": "/\t/evil.example"})
    assert response.headers["Location"] == "/"


# ---- what a form accepts fits the ticket column it lands in ----------------------------------------------

def _limit_of(field: dict) -> int | None:
    consts = [option.get("const") for option in field.get("oneOf", [])] + list(field.get("enum", []))
    if consts:
        return max(len(str(const)) for const in consts)
    return field.get("maxLength")


@pytest.mark.parametrize("form", sorted(path.name for path in (ROOT / "forms").glob("*.json")))
def test_every_form_field_that_lands_in_a_ticket_column_fits_it(form):
    properties = json.loads((ROOT / "forms" / form).read_text(encoding="utf-8")).get("properties", {})
    for name, column in {**INTAKE_COLUMNS, **SYNCED_COLUMNS}.items():
        field = properties.get(name)
        limit = column_length(column)
        if field is None or field.get("readOnly") or field.get("type") != "string" or limit is None:
            continue
        assert _limit_of(field) is not None and _limit_of(field) <= limit, (form, name, _limit_of(field), limit)


@pytest.fixture
def shipped_estate(app, deploy):
    deploy(read_definition_dir(ROOT / "bpmn") | read_definition_dir(ROOT / "forms"))
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")


def _call(**changes):
    return {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
            "channel": "hotline", "category": "consultation", "description": "物业费怎么交？", "urgency": "normal",
            "emergency": False, **changes}


@pytest.mark.parametrize("field", ["unit", "caller_name"])
def test_the_intake_form_refuses_what_its_column_cannot_hold(shipped_estate, api_as, field):
    agent = api_as("wang", "cs_agent")
    response = agent.post("/tickets", json={"data": _call(**{field: "长" * 41})})
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == [field]
    assert agent.post("/tickets", json={"data": _call(**{field: "长" * 40})}).status_code == 201


@pytest.fixture
def loose_intake(app, deploy):
    """A designer's intake form that sets no maximum length (tests/fixtures/tickets)."""
    deploy({path.name: path.read_bytes() for path in (FIXTURES / "tickets").iterdir()})
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")


def test_a_value_too_long_for_its_column_is_refused_whatever_the_form_allows(loose_intake, api_as):
    agent = api_as("wang", "cs_agent")
    response = agent.post("/tickets", json={"data": {**_call(unit="3-1202" + "0" * 40), "part": "p" * 41}})
    assert response.status_code == 422, response.json
    assert sorted(response.json["errors"]) == ["part", "unit"]
    assert agent.get("/tickets/KF-20260302-0001").status_code == 404  # nothing was recorded
