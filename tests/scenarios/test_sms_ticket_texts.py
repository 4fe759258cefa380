"""The ticket page shows the texts sent about the ticket, in the Chinese the owner read, with their status."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.console_client import Browser
from tests.scenarios.conftest import repair_until_confirmation

RECEIVED = "【客服中心】您的报修已受理，工单号 {}。我们将按时处理，如有疑问请致电客服中心。"


def ticket_page_as(app, username, number):
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser.get(f"/tickets/{number}").get_data(as_text=True)


def texts_on(page):
    found = re.search(r'<ul class="list-group mb-3" id="texts-sent">(.*?)</ul>', page, re.S)
    assert found, "the ticket page has no list of texts"
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip()
            for item in re.findall(r'<li class="list-group-item small text-sent".*?</li>', found.group(1), re.S)]


def test_the_supervisor_reads_the_owners_texts_newest_first_with_the_number_masked_and_sent_or_not(
        app, desk, staff):
    ticket = desk.open()
    desk.wait(timedelta(minutes=1), ticket)  # the worker sends the first text
    repair_until_confirmation(desk, ticket, staff.eng_super)

    texts = texts_on(ticket_page_as(app, "supervisor", ticket.number))

    assert texts[0].startswith("138****5678") and "待发送" in texts[0]
    # the work done, the owner is asked to rate it (issue 15) right after being told it is done
    assert texts[0].endswith(f"工单{ticket.number}已办结，请点击链接评价本次服务：/owner/tickets/{ticket.number}/rate")
    assert texts[1].endswith(f"【客服中心】工单 {ticket.number} 已处理完成，我们将回访了解您的意见。")
    assert "已发送" in texts[-1]
    assert texts[-1].endswith(RECEIVED.format(ticket.number))
    assert all("13812345678" not in text for text in texts)


def test_the_admin_reads_the_same_texts_beside_the_instances_timeline(app, api_as, desk):
    ticket = desk.open()
    api_as("boss", "admin")
    browser = Browser(app.test_client())
    assert browser.log_in("boss").status_code == 302

    texts = texts_on(browser.get(f"/admin/instances/{ticket.instance_id}").get_data(as_text=True))

    assert len(texts) == 1 and "待发送" in texts[0]
    assert texts[0].endswith(RECEIVED.format(ticket.number))
