"""Chasing (催办): a repeated call attached to an open ticket tells whoever holds its task and the CS supervisor,
is counted on the ticket, raises it in every inbox, and every second chase (setting ``chase_escalate_after``)
escalates it one level. A call about a closed ticket is recorded but chases nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import User
from app.models.jobs import OutboxMessage
from tests.console_client import Browser
from tests.scenarios.conftest import OWNER_PHONE

SUPERVISOR_MOBILE = "13900001111"
CHASE_CALL = {"caller_name": "王先生", "phone": OWNER_PHONE, "description": "又来催：顶层还在漏水。",
              "channel": "hotline"}


def chase(desk, ticket):
    response = desk.staff.agent.post(f"/tickets/{ticket.number}/calls", json={"data": CHASE_CALL})
    assert response.status_code == 200, response.json
    return response.json


def bell(user):
    return [(item["kind"], item["title"]) for item in user.get("/notifications").json["items"]]


def console_as(app, username):
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def group_inbox_tickets(app, username):
    """The ticket numbers of ``username``'s "To claim" tab on the console, top to bottom, and its HTML."""
    page = console_as(app, username).get("/?scope=group").get_data(as_text=True)
    return re.findall(r'href="/tickets/(KF-\d{8}-\d{4})"', page), page


def test_two_chases_tell_the_task_holder_and_the_supervisor_count_two_and_escalate_one_level(desk, staff):
    db.session.execute(update(User).where(User.username == "supervisor").values(phone=SUPERVISOR_MOBILE))
    db.session.commit()
    ticket = desk.open()  # a repair: the engineering supervisors hold its dispatch

    first = chase(desk, ticket)

    assert (first["chase_count"], first["escalation_level"]) == (1, 0)
    assert ("chased", f"催办：{ticket.number}") in bell(staff.eng_super)
    assert ("chased", f"催办：{ticket.number}") in bell(staff.supervisor)
    assert bell(staff.prop_super) == []  # another department's supervisor holds nothing of it

    second = chase(desk, ticket)

    assert (second["chase_count"], second["escalation_level"]) == (2, 1)
    assert [kind for kind, _ in bell(staff.eng_super)].count("chased") == 2
    assert ("escalated", f"已升级至 1 级：{ticket.number}") in bell(staff.supervisor)
    db.session.remove()
    texts = list(db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == SUPERVISOR_MOBILE)))
    assert [text for text in texts if "第 2 次来电催办" in text]
    chased = [event for event in desk.instance(ticket)["events"] if event["action"] == "chased"]
    assert [event["data"]["count"] for event in chased] == [1, 2]


def test_a_chased_ticket_comes_first_in_the_inbox_with_its_chase_count(desk, staff, app):
    earlier = desk.open(description="客厅吊顶渗水。")
    desk.clock.advance(timedelta(hours=1))
    chased = desk.open()  # due an hour later: below the earlier one until it is chased
    before, _ = group_inbox_tickets(app, "eng_super")
    assert before.index(earlier.number) < before.index(chased.number)

    chase(desk, chased)
    chase(desk, chased)

    after, page = group_inbox_tickets(app, "eng_super")
    assert after.index(chased.number) < after.index(earlier.number)
    assert "催办 ×2" in page
    assert "等待「派工」" in page  # what each ticket waits for, under its problem


def test_a_call_about_a_closed_ticket_is_recorded_but_chases_nothing(desk, staff):
    ticket = desk.open(category="consultation", part=None)
    desk.handle(staff.agent, ticket, "answer_consultation", {"answered_on_the_spot": True, "answer": "已答复。"})

    attached = chase(desk, ticket)

    assert (attached["attached_calls"], attached["chase_count"]) == (1, 0)
    assert bell(staff.supervisor) == []


def test_the_console_confirms_the_attached_call_with_the_number_to_read_out(desk, staff, app):
    ticket = desk.open()
    chase(desk, ticket)

    page = console_as(app, "agent").get(f"/tickets/{ticket.number}?attached=1").get_data(as_text=True)

    assert f"已合并到工单 {ticket.number}，已催办第 1 次。" in page
    assert "催办 ×1" in page
