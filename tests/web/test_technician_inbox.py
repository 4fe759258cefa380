"""The technician's inbox through HTTP: emergencies first, each row with its estate and problem, a call link on
my own tasks only, and the same few statements however many rows it shows (no query per row)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.config import PROJECT_ROOT
from app.extensions import db
from app.services.definitions.deploy import deploy_from_disk
from app.services.people.auth import principal_for_user
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user, find_user
from app.services.work import tasks as task_service
from app.services.work import tickets as ticket_service
from app.services.work.inbox import inbox
from tests.console_client import PASSWORD
from tests.support import count_queries
from tests.web.test_console import browser_of

UNIT = "2栋-0701"  # in both estates


@pytest.fixture
def estates(app, clock):
    deploy_from_disk(app.extensions["kefu"], PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms")
    for key, name in (("lanting", "兰亭苑"), ("binjiang", "滨江府")):
        create_project(key, name, city="杭州")
        create_unit(key, UNIT, owner_name="张伟", owner_phone="13800138000", handover_date=date(2024, 6, 30))
    for username, roles, departments in (("agent", ["cs_agent"], []), ("tech", ["technician"], ["engineering"]),
                                         ("eng_super", ["eng_supervisor"], ["engineering"])):
        create_user(username, password=PASSWORD, roles=roles, departments=departments, clock=clock)
    db.session.remove()


def principal(username):
    return principal_for_user(find_user(username).id)


def dispatched(app, *, project="lanting", description="卫生间漏水。", emergency=False, phone="13800138000"):
    """A repair call recorded by the agent and dispatched to the technician (its appointment task is theirs)."""
    rt = app.extensions["kefu"]
    intake = {"project": project, "unit": UNIT, "caller_name": "张先生", "phone": phone, "channel": "hotline",
              "category": "repair", "description": description, "urgency": "normal", "emergency": emergency,
              "part": "plumbing"}
    number = ticket_service.open_ticket(rt, intake, user=principal("agent")).number
    task = inbox(user=principal("eng_super"), scope="group", search=number)[0].task
    task_service.complete_task(rt, task.id, {"technician": "tech"}, user=principal("eng_super"))
    db.session.remove()
    return number


def row_numbers(page: str) -> list[str]:
    return re.findall(r'<a href="/tickets/(KF-[0-9-]+)">', page)


def test_an_emergency_comes_first_with_its_mark_estate_and_problem_whatever_its_due_time(app, estates):
    older = dispatched(app, description="卫生间地漏返味。\n下午在家。")
    burst = dispatched(app, project="binjiang", description="厨房水管爆裂。", emergency=True, phone="13911112222")
    page = browser_of(app, "tech").get("/").get_data(as_text=True)

    assert row_numbers(page) == [burst, older]
    first, second = page.split('data-task="')[1:3]
    assert "突发" in first and "突发" not in second
    assert f'<div class="inbox-place">滨江府 {UNIT}</div>' in first
    assert '<div class="inbox-problem text-break">卫生间地漏返味。</div>' in second  # its first line
    assert 'href="tel:13911112222"' in first


def test_a_pool_to_claim_shows_phones_masked_and_offers_no_call(app, estates):
    ticket_service.open_ticket(app.extensions["kefu"], {
        "project": "lanting", "unit": UNIT, "caller_name": "张先生", "phone": "13800138000", "channel": "hotline",
        "category": "repair", "description": "卫生间漏水。", "urgency": "normal", "emergency": False,
        "part": "plumbing"}, user=principal("agent"))
    db.session.remove()
    page = browser_of(app, "eng_super").get("/?scope=group").get_data(as_text=True)  # the dispatch, to claim
    assert len(row_numbers(page)) == 1
    assert "tel:" not in page and "138****8000" in page and "13800138000" not in page


def test_the_inbox_costs_the_same_statements_for_two_rows_as_for_six(app, estates):
    browser = browser_of(app, "tech")
    for _ in range(2):
        dispatched(app)
    browser.get("/")  # the menu asks once after a deploy whether it offers "New ticket", then keeps the answer
    with count_queries() as two:
        assert len(row_numbers(browser.get("/").get_data(as_text=True))) == 2
    for _ in range(4):
        dispatched(app, project="binjiang")
    with count_queries() as six:
        assert len(row_numbers(browser.get("/").get_data(as_text=True))) == 6
    assert len(six) == len(two), six.statements
