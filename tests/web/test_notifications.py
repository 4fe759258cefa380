"""The bell in the console (count, list, open, mark all read) and the outbox's retries when a sender fails."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.jobs import OutboxMessage
from app.services.jobs.notifications import deliver_outbox, notify, send_sms
from app.services.steps.plan import step_transaction
from tests.web.test_console import browser_of, estate  # noqa: F401  (the console's estate and browsers)


def user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def escalate_notice(clock, username: str, number: str = "KF-20260302-0001") -> None:
    with step_transaction():
        notify([user_id(username)], kind="escalated", now=clock.now(), link=f"/tickets/{number}",
               params={"number": number, "category": "complaint", "level": 2,
                       "due_at": "2026-03-03T01:00:00+00:00"})


def badge(page: str) -> str | None:
    found = re.search(r'id="unread-count">(\d+)<', page)
    return found.group(1) if found else None


@pytest.mark.usefixtures("estate")
def test_the_bell_counts_unread_notices_lists_them_in_chinese_and_opening_one_marks_it_read(app, clock):
    supervisor = browser_of(app, "chen")
    assert badge(supervisor.get("/").get_data(as_text=True)) is None
    escalate_notice(clock, "chen")
    escalate_notice(clock, "chen", "KF-20260302-0002")
    escalate_notice(clock, "wang")  # someone else's

    assert badge(supervisor.get("/").get_data(as_text=True)) == "2"
    page = supervisor.get("/notifications").get_data(as_text=True)
    assert page.count('data-unread="true"') == 2
    assert "已升级至 2 级：KF-20260302-0002" in page
    assert "投诉工单 KF-20260302-0001 已超过处理时限（2026-03-03 09:00），仍未完成。" in page  # Shanghai time

    notice_id = re.findall(r'/notifications/(\d+)/open', page)[-1]
    opened = supervisor.post(f"/notifications/{notice_id}/open", {"link": "/tickets/KF-20260302-0001"})
    assert (opened.status_code, opened.headers["Location"]) == (302, "/tickets/KF-20260302-0001")
    assert badge(supervisor.get("/").get_data(as_text=True)) == "1"

    supervisor.post("/notifications/read")
    assert badge(supervisor.get("/").get_data(as_text=True)) is None
    assert badge(browser_of(app, "wang").get("/").get_data(as_text=True)) == "1"  # untouched


@pytest.mark.usefixtures("estate")
def test_a_notice_link_never_leads_off_the_site(app, clock):
    escalate_notice(clock, "chen")
    supervisor = browser_of(app, "chen")
    notice_id = re.findall(r'/notifications/(\d+)/open', supervisor.get("/notifications").get_data(as_text=True))[0]
    response = supervisor.post(f"/notifications/{notice_id}/open", {"link": "//evil.example/phish"})
    assert response.headers["Location"] == "/notifications"


@pytest.mark.usefixtures("estate")
def test_the_bell_needs_a_login_and_its_forms_need_the_csrf_token(app):
    client = app.test_client()
    assert client.get("/notifications").status_code == 302
    assert browser_of(app, "chen").client.post("/notifications/read").status_code == 400


class FlakySender:
    """An SMS gateway that is down for the first ``failures`` attempts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[str] = []

    def send(self, message) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway unreachable")
        self.sent.append(message.body)


@pytest.mark.parametrize("failures", [0, 2])
def test_an_sms_is_retried_with_back_off_until_the_gateway_answers(app, clock, failures):
    with step_transaction():
        send_sms("13812345678", "【客服中心】测试", now=clock.now())
    sender = FlakySender(failures)
    for _ in range(failures):
        assert deliver_outbox(sender, now=clock.now()) == (0, 1)
        assert deliver_outbox(sender, now=clock.now()) == (0, 0)  # backing off
        clock.advance(timedelta(minutes=30))
    assert deliver_outbox(sender, now=clock.now()) == (1, 0)
    assert sender.sent == ["【客服中心】测试"]
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.status, message.attempts) == ("sent", failures + 1)


def test_an_sms_the_gateway_never_takes_is_marked_failed_with_its_error(app, clock):
    with step_transaction():
        send_sms("13812345678", "【客服中心】测试", now=clock.now())
    sender = FlakySender(failures=99)
    for _ in range(10):
        deliver_outbox(sender, now=clock.now())
        clock.advance(timedelta(hours=3))
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.status, message.attempts, message.last_error) == ("failed", 5, "gateway unreachable")
    assert sender.sent == []
