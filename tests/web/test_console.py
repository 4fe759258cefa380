"""The staff console through the Flask client: logging in, the inbox, task and ticket pages, roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from tests.console_client import PASSWORD, Browser
from tests.support.fixtures import ROLE_NAMES

TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"


@pytest.fixture
def estate(app, clock, deploy):
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()} | {
        name: (Path(__file__).parent.parent / "fixtures" / name).read_bytes()
        for name in ("gateway.bpmn", "gateway_judge.json", "gateway_fix.json", "gateway_explain.json")})
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")
    for username, roles in (("wang", ["cs_agent"]), ("zheng", ["technician"]), ("chen", ["cs_supervisor"]),
                            ("root", ["admin"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)


def browser_of(app, username=None):
    browser = Browser(app.test_client())
    if username:
        assert browser.log_in(username).status_code == 302
    return browser


def record_call(browser, **overrides):
    browser.get("/tickets/new")
    data = {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
            "category": "repair", "description": "厨房漏水", **overrides}
    response = browser.post("/tickets/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def test_pages_need_a_login(app, estate):
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_account(app, estate, clock):
    browser = browser_of(app)
    for _ in range(5):
        assert browser.log_in("wang", "wrong").status_code == 401
    locked = browser.log_in("wang")
    assert locked.status_code == 401
    assert "稍后再试" in locked.get_data(as_text=True)
    from datetime import timedelta
    clock.advance(timedelta(minutes=1))
    assert browser.log_in("wang").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(app, estate):
    client = app.test_client()
    response = client.post("/login", data={"username": "wang", "password": PASSWORD})
    assert response.status_code == 400


def test_the_session_cookie_is_http_only_and_same_site(app, estate):
    response = browser_of(app).log_in("wang")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_an_agent_records_a_call_and_sees_the_ticket_and_its_task(app, estate):
    agent = browser_of(app, "wang")
    number = record_call(agent)
    page = agent.get(f"/tickets/{number}").get_data(as_text=True)
    assert number in page and "13800138000" in page
    assert "处理" in page  # the open task, in Chinese


def test_an_invalid_form_keeps_what_was_typed_and_marks_the_field(app, estate):
    agent = browser_of(app, "wang")
    agent.get("/tickets/new")
    response = agent.post("/tickets/new", {"project": "lanting", "unit": "3-1202", "caller_name": "张先生",
                                           "phone": "13800138000", "category": "repair", "description": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="张先生"' in page and 'value="13800138000"' in page
    assert re.search(r'data-field="description".*?field-error', page, re.S)


def test_completing_a_task_in_the_browser_closes_the_ticket(app, estate):
    agent = browser_of(app, "wang")
    number = record_call(agent)
    task_id = re.search(r"/tasks/([0-9a-f-]{36})", agent.get(f"/tickets/{number}").get_data(as_text=True)).group(1)
    agent.get(f"/tasks/{task_id}")
    done = agent.post(f"/tasks/{task_id}", {"outcome": "resolved", "satisfaction": "satisfied"})
    assert done.status_code == 302
    page = agent.get(f"/tickets/{number}").get_data(as_text=True)
    assert 'data-stage="closed">已关闭' in page


def test_the_inbox_masks_phone_numbers(app, estate):
    agent = browser_of(app, "wang")
    record_call(agent)
    page = agent.get("/?scope=group").get_data(as_text=True)
    assert "138****8000" in page and "13800138000" not in page


def test_someone_not_working_on_a_ticket_sees_the_phone_masked(app, estate):
    number = record_call(browser_of(app, "wang"))
    page = browser_of(app, "zheng").get(f"/tickets/{number}").get_data(as_text=True)
    assert "138****8000" in page and "13800138000" not in page


def test_a_technician_opening_an_agents_task_gets_a_chinese_403_page(app, estate):
    number = record_call(browser_of(app, "wang"))
    agent_page = browser_of(app, "wang").get(f"/tickets/{number}").get_data(as_text=True)
    task_id = re.search(r"/tasks/([0-9a-f-]{36})", agent_page).group(1)
    technician = browser_of(app, "zheng")
    response = technician.get(f"/tasks/{task_id}")
    assert response.status_code == 403
    assert "您无权" in response.get_data(as_text=True)
    assert technician.post(f"/tasks/{task_id}", {"outcome": "resolved"}).status_code == 403


def test_a_phone_system_screen_pop_fills_the_number_and_shows_the_callers_tickets(app, estate):
    agent = browser_of(app, "wang")
    number = record_call(agent)
    page = agent.get("/tickets/new?phone=13800138000").get_data(as_text=True)
    assert 'value="13800138000"' in page
    assert number in page


def test_the_english_switch_changes_the_interface_language(app, estate):
    agent = browser_of(app, "wang")
    assert "我的待办" in agent.get("/").get_data(as_text=True)
    agent.post("/language", {"lang": "en", "next": "/"})
    page = agent.get("/").get_data(as_text=True)
    assert "My tasks" in page and "我的待办" not in page


def test_the_api_accepts_the_browser_session_but_only_with_the_csrf_token(app, estate):
    agent = browser_of(app, "wang")
    agent.get("/")
    with app.app_context():
        assert agent.client.get("/api/v1/tasks?scope=group").status_code == 200
    with app.app_context():
        refused = agent.client.post("/api/v1/tickets", json={"data": {}})
    assert refused.status_code == 400
    with app.app_context():
        allowed = agent.client.post("/api/v1/tickets", json={"data": {}}, headers={"X-CSRFToken": agent.token})
    assert allowed.status_code == 422  # past the CSRF check, refused by the form


ROLES = ROLE_NAMES
RECORDS_CALLS = {"cs_agent", "night_security", "cs_supervisor", "admin"}  # the reception's start roles
WORKS_THE_TASK = {"cs_agent", "admin"}  # the fixture reception's only task is in the cs_agent lane
SUPERVISES = {"cs_supervisor", "eng_supervisor", "property_manager", "admin"}


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_every_page_for_every_role(app, estate, clock, role):
    """Who may open which page: the inbox for all, recording calls for the reception roles, a task for its lane."""
    number = record_call(browser_of(app, "wang"))
    agent_page = browser_of(app, "wang").get(f"/tickets/{number}").get_data(as_text=True)
    task_id = re.search(r"/tasks/([0-9a-f-]{36})", agent_page).group(1)
    create_user(f"u_{role}", password=PASSWORD, roles=[role], clock=clock)
    person = browser_of(app, f"u_{role}")

    assert person.get("/").status_code == 200
    assert person.get("/tickets/new").status_code == (200 if role in RECORDS_CALLS else 403)
    assert person.get(f"/tickets/{number}").status_code == 200  # staff of the project read tickets (phone masked)
    assert person.get(f"/tasks/{task_id}").status_code == (200 if role in WORKS_THE_TASK else 403)
    shows_phone = "13800138000" in person.get(f"/tickets/{number}").get_data(as_text=True)
    assert shows_phone == (role in WORKS_THE_TASK | SUPERVISES)


def test_the_inbox_filters_by_category_and_finds_a_ticket_by_number_phone_or_unit(app, estate):
    agent = browser_of(app, "wang")
    repair = record_call(agent)
    complaint = record_call(agent, category="complaint", unit="3-1202", phone="13900139000")

    def listed(**query):
        page = agent.get("/", query_string={"scope": "group", **query}).get_data(as_text=True)
        return {number for number in (repair, complaint) if number in page}

    assert listed() == {repair, complaint}
    assert listed(category="complaint") == {complaint}
    assert listed(search=repair) == {repair}
    assert listed(search="13900139000") == {complaint}
    assert listed(search="3-12") == {repair, complaint}
    assert listed(search="KF-19990101-0001") == set()


def test_a_task_claimed_from_the_list_can_be_given_back_from_my_list(app, estate):
    agent = browser_of(app, "wang")
    number = record_call(agent)
    task_id = re.search(r"/tasks/([0-9a-f-]{36})", agent.get(f"/tickets/{number}").get_data(as_text=True)).group(1)
    agent.get("/?scope=group")
    agent.post(f"/tasks/{task_id}/claim", {"next": "/?scope=mine"})
    mine = agent.get("/?scope=mine").get_data(as_text=True)
    assert number in mine and f"/tasks/{task_id}/unclaim" in mine
    agent.post(f"/tasks/{task_id}/unclaim")
    assert number not in agent.get("/?scope=mine").get_data(as_text=True)
    assert number in agent.get("/?scope=group").get_data(as_text=True)


def test_the_inbox_marks_tasks_due_soon_and_overdue(app, estate, clock):
    from datetime import timedelta

    agent = browser_of(app, "wang")
    record_call(agent)
    assert "due-soon" not in agent.get("/?scope=group").get_data(as_text=True)
    clock.advance(timedelta(hours=21))  # 3 h left of 24
    agent = browser_of(app, "wang")  # back after hours: the idle session ended (session_idle_minutes)
    page = agent.get("/?scope=group").get_data(as_text=True)
    assert "即将到期" in page
    clock.advance(timedelta(hours=4))
    agent = browser_of(app, "wang")
    page = agent.get("/?scope=group").get_data(as_text=True)
    assert "已超时" in page and "即将到期" not in page
