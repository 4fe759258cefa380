"""Planned callbacks by the method of their plan (callback_plan.dmn), and the ones the daily job finds itself.

A regular owner is called back by a text with a survey link (回访方式：短信业务): the owner answers on /owner with
the link alone, the answer is the callback's outcome and an issue raised opens a ticket linked to it; no answer
within three working days and an agent phones instead. A contract ending soon goes by e-mail where the owner has
an address, by text otherwise. A VIP owner is visited by the property department. Warranties (two years after
handover) and property-service contracts ending next month are planned once, however many days the job runs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db
from app.models.jobs import OutboxMessage
from app.services.outreach.planned_callbacks import ensure_planned_callbacks_job
from app.services.people.organisation import create_unit
from tests.conftest import Api
from tests.console_client import Browser
from tests.scenarios.conftest import Desk, run_timer_worker

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNIT = "8栋-0101"
MOBILE = "13700000001"
LEAKING_WINDOW = {"satisfaction": "dissatisfied", "issue_raised": "true", "issue_category": "repair",
                  "issue_description": "客厅窗户关不严，下雨渗水。", "remarks": "希望尽快处理。"}


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def on(day: date, hour: int, app: Flask, clock: ManualClock) -> None:
    """The clock at ``hour`` business time on ``day``; the worker runs what is due."""
    clock.set(at_local(day, hour, 1))
    run_timer_worker(app)


def logged_in(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def plan_a_day(app: Flask, customer_type: str, day: str = "2026-03-09") -> None:
    """The CS supervisor plans building 8 for ``customer_type`` on one day (the console's /callbacks form)."""
    planned = logged_in(app, "supervisor").post("/callbacks/plan", {
        "customer_type": customer_type, "project": "lanting", "building": "8栋", "first_day": day, "last_day": day})
    assert planned.status_code == 302, planned.get_data(as_text=True)


def plan_rows(app: Flask) -> list[dict[str, str]]:
    """The plans on the supervisor's /callbacks page, each with its status, type, unit, instance and calls."""
    page = logged_in(app, "supervisor").get("/callbacks").get_data(as_text=True)
    rows = []
    for row in re.findall(r"<tr data-plan=.*?</tr>", page, flags=re.S):
        attributes = dict(re.findall(r'data-([\w-]+)="([^"]*)"', row.split(">")[0]))
        attributes["methods"] = " ".join(re.findall(r'data-call-method="(\w*)"', row))
        attributes["tickets"] = " ".join(re.findall(r'data-linked-ticket="([^"]+)"', row))
        rows.append(attributes)
    return rows


def planned_tasks(user: Api) -> list[dict[str, Any]]:
    response = user.get("/tasks", query_string={"scope": "group", "limit": 200})
    assert response.status_code == 200, response.json
    return [task for task in response.json["items"] if task["process_id"] == "planned_callback"]


def outbox_to(recipient: str) -> list[OutboxMessage]:
    db.session.remove()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                   .order_by(OutboxMessage.id)))


def survey_link_in(message: OutboxMessage) -> str:
    found = re.search(r"(/owner/s/[\w-]+)", message.body)
    assert found, message.body
    return found.group(1)


@pytest.fixture
def regular_owner(app: Flask, desk: Desk, clock: ManualClock) -> None:
    """赵先生 of 8栋-0101, a regular owner with a mobile number; the worker started."""
    create_unit("lanting", UNIT, owner_name="赵先生", owner_phone=MOBILE)
    ensure_planned_callbacks_job(now=clock.now(), timezone=app.extensions["kefu"].timezone)


def test_a_text_callback_sends_a_survey_link_and_the_owners_answer_closes_it_with_a_linked_ticket(
        app: Flask, desk: Desk, clock: ManualClock, regular_owner: None) -> None:
    plan_a_day(app, "regular")
    on(date(2026, 3, 9), 8, app, clock)
    [text] = outbox_to(MOBILE)
    assert (text.channel, text.template) == ("sms", "callback_survey_link")
    assert planned_tasks(desk.staff.agent) == [], "no agent phones while the owner may answer the text"

    owner = Browser(app.test_client())  # no sign-in: the link alone
    link = survey_link_in(text)
    page = owner.get(link)
    assert page.status_code == 200 and "物业服务回访" in page.get_data(as_text=True)
    answered = owner.post(link, LEAKING_WINDOW)
    assert answered.status_code == 200 and "已提交" in answered.get_data(as_text=True)
    again = owner.post(link, {**LEAKING_WINDOW, "issue_description": "又写了一遍。"})
    assert again.status_code == 200 and "您已填写过本问卷" in again.get_data(as_text=True)

    [plan] = plan_rows(app)
    assert (plan["status"], plan["methods"]) == ("done", "sms"), "answered twice, one call"
    [number] = plan["tickets"].split()
    ticket = desk.staff.agent.get(f"/tickets/{number}").json
    assert (ticket["unit"], ticket["category"], ticket["phone"]) == (UNIT, "repair", MOBILE)
    assert "客厅窗户关不严" in ticket["description"] and "又写了一遍" not in ticket["description"]
    assert desk.staff.supervisor.get(f"/instances/{plan['instance']}").json["status"] == "completed"


def test_a_text_callback_left_unanswered_becomes_an_agents_call_after_three_working_days(
        app: Flask, desk: Desk, clock: ManualClock, regular_owner: None) -> None:
    plan_a_day(app, "regular")
    on(date(2026, 3, 9), 8, app, clock)
    [plan] = plan_rows(app)
    fallback_at = desk.staff.supervisor.get(f"/instances/{plan['instance']}").json["next_timer_at"]
    assert datetime.fromisoformat(fallback_at) == at_local(date(2026, 3, 11), 18), "3 working days: Mon to Wed"
    on(date(2026, 3, 11), 17, app, clock)
    assert planned_tasks(desk.staff.agent) == []

    on(date(2026, 3, 11), 18, app, clock)
    [call] = planned_tasks(desk.staff.agent)
    assert call["name"] == "call_owner"
    instructions = desk.staff.agent.get(f"/tasks/{call['id']}").json["instructions"]
    assert "3 个工作日内未填写" in instructions
    reached = {"reached": True, "satisfaction": "satisfied", "issue_raised": False}
    assert desk.staff.agent.complete(call["id"], reached).status_code == 200
    [plan] = plan_rows(app)
    assert (plan["status"], plan["methods"]) == ("done", "phone")

    late = Browser(app.test_client()).post(survey_link_in(outbox_to(MOBILE)[0]), LEAKING_WINDOW)
    assert late.status_code == 200 and "已提交" in late.get_data(as_text=True)
    assert plan_rows(app)[0]["methods"] == "phone", "the agent's call stays the outcome"
    found = desk.staff.agent.get("/tickets", query_string={"q": "客厅窗户关不严"}).json["items"]
    assert [ticket["unit"] for ticket in found] == [UNIT], "the issue the owner wrote late is still followed"


def test_an_email_callback_goes_to_the_owners_address_and_without_one_by_text(
        app: Flask, desk: Desk, clock: ManualClock, regular_owner: None) -> None:
    create_unit("lanting", "8栋-0102", owner_name="钱女士", owner_phone="13700000002", owner_email="qian@example.com")
    plan_a_day(app, "contract_expiring")  # callback_plan.dmn: by e-mail
    on(date(2026, 3, 9), 8, app, clock)
    [mail] = outbox_to("qian@example.com")
    assert mail.channel == "email" and "/owner/s/" in mail.body
    assert outbox_to("13700000002") == []
    [text] = outbox_to(MOBILE)
    assert (text.channel, text.template) == ("sms", "callback_survey_link"), "no address: a text"

    assert Browser(app.test_client()).post(survey_link_in(mail), {
        "satisfaction": "very_satisfied", "issue_raised": "false", "remarks": "续约。"}).status_code == 200
    by_unit = {row["unit"]: row for row in plan_rows(app)}
    assert by_unit["8栋-0102"]["methods"] == "email" and by_unit[UNIT]["methods"] == ""
    next_contact = desk.staff.supervisor.get(f"/instances/{by_unit['8栋-0102']['instance']}").json["next_timer_at"]
    assert datetime.fromisoformat(next_contact).astimezone(SHANGHAI).date() == date(2026, 3, 16), \
        "contracts: a second contact 5 working days later"
    on(date(2026, 3, 16), 11, app, clock)
    assert [message.channel for message in outbox_to("qian@example.com")] == ["email", "email"]


def test_a_vip_visit_is_the_property_departments_task_with_the_callback_form(
        app: Flask, desk: Desk, clock: ManualClock, regular_owner: None) -> None:
    plan_a_day(app, "vip")
    on(date(2026, 3, 9), 8, app, clock)
    assert planned_tasks(desk.staff.agent) == []
    [visit] = planned_tasks(desk.staff.prop_owner)
    assert visit["name"] == "visit_owner"
    assert "上门回访" in desk.staff.prop_owner.get(f"/tasks/{visit['id']}").json["instructions"]
    issue = {"reached": True, "satisfaction": "neutral", "issue_raised": True, "issue_category": "repair",
             "issue_description": "入户门锁松动。"}
    assert desk.staff.prop_owner.complete(visit["id"], issue).status_code == 200
    [plan] = plan_rows(app)
    assert (plan["status"], plan["methods"]) == ("done", "visit") and plan["tickets"]


def test_a_warranty_ending_next_month_is_planned_once_however_many_days_the_job_runs(
        app: Flask, desk: Desk, clock: ManualClock, regular_owner: None) -> None:
    create_unit("lanting", "8栋-0201", owner_name="孙先生", owner_phone="13700000003",
                handover_date=date(2024, 4, 15))  # two-year warranty ends on 15 April 2026
    create_unit("lanting", "8栋-0202", owner_name="周女士", owner_phone="13700000004",
                contract_end_date=date(2026, 4, 30))
    create_unit("lanting", "8栋-0203", owner_name="吴先生", owner_phone="13700000005",
                handover_date=date(2024, 9, 1), contract_end_date=date(2027, 1, 31))  # neither ends soon
    for day in (3, 4, 5, 6, 9):
        on(date(2026, 3, day), 8, app, clock)

    found = sorted((row["unit"], row["customer-type"]) for row in plan_rows(app))
    assert found == [("8栋-0201", "warranty_expiring"), ("8栋-0202", "contract_expiring")]
    on(date(2026, 3, 16), 8, app, clock)  # a month before the warranty ends: its call is made (by phone)
    [call] = planned_tasks(desk.staff.agent)
    assert "保修即将到期" in desk.staff.agent.get(f"/tasks/{call['id']}").json["instructions"]
    assert len(plan_rows(app)) == 2
