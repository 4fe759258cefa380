"""``flask outbox --to PHONE``: what support staff read to check the texts an owner received.

And ``flask worker`` with a real SMS provider chosen but not set up says what is missing instead of starting.
"""

from __future__ import annotations

from datetime import timedelta

from app.services.jobs.notifications import deliver_outbox, queue_text
from app.services.steps.plan import step_transaction

OWNER = "13812345678"


class DownGateway:
    def send(self, message) -> None:
        raise ConnectionError("gateway unreachable")


class Gateway:
    def send(self, message) -> None:
        pass


def test_the_texts_to_a_number_are_listed_newest_first_with_their_chinese_text_and_status(app, clock):
    with step_transaction():
        queue_text(OWNER, "ticket_received", {"kind": "报修", "number": "KF-20260302-0001"}, now=clock.now())
        queue_text("13900000000", "work_done", {"number": "KF-20260302-0009"}, now=clock.now())  # someone else
    deliver_outbox(Gateway(), now=clock.now())
    clock.advance(timedelta(hours=2))
    with step_transaction():
        queue_text(f"+86 {OWNER[:3]}-{OWNER[3:7]}-{OWNER[7:]}", "work_done", {"number": "KF-20260302-0001"},
                   now=clock.now())
    deliver_outbox(DownGateway(), now=clock.now())

    result = app.test_cli_runner().invoke(args=["outbox", "--to", f"+86{OWNER}"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 4
    assert "pending" in lines[0] and "work_done" in lines[0] and "gateway unreachable" in lines[0]
    assert lines[1].strip() == "【客服中心】工单 KF-20260302-0001 已处理完成，我们将回访了解您的意见。"
    assert "sent" in lines[2] and "ticket_received" in lines[2]
    assert lines[3].strip() == ("【客服中心】您的报修已受理，工单号 KF-20260302-0001。"
                                "我们将按时处理，如有疑问请致电客服中心。")
    assert "KF-20260302-0009" not in result.output


def test_a_number_that_was_never_texted_says_so(app):
    result = app.test_cli_runner().invoke(args=["outbox", "--to", "13700000000"])
    assert (result.exit_code, result.output.strip()) == (0, "no texts to 13700000000")


def test_the_worker_with_tencent_chosen_but_no_keys_names_what_is_missing_and_does_not_start(app, monkeypatch):
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "tencent")
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 1
    assert "KEFU_SMS_PROVIDER=tencent needs these environment variables: TENCENTCLOUD_SECRET_ID" in result.output
    assert "ran " not in result.output
