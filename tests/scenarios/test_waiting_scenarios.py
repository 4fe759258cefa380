"""What every open ticket waits for, in words and time (等待什么、到何时), and the CS supervisor acting on a wait.

Read through the API as the front desk reads a ticket: ``waiting_for`` in words (Chinese for these users),
``until`` as an ISO 8601 moment, ``waiting_kind`` as a code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.console_client import Browser
from tests.scenarios.conftest import (
    APPOINTMENT,
    DISPATCH,
    INSPECTION,
    NEXT_MORNING,
    NIGHT,
    UNREACHED,
    repair_until_confirmation,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def act(user, number, action, reason="业主来电说明情况紧急。"):
    return user.post(f"/tickets/{number}/{action}", json={"data": {"reason": reason} if reason is not None else {}})


def console_as(app, username):
    """A browser logged in to the console as ``username``."""
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def events(desk, ticket, action):
    return [event for event in desk.instance(ticket)["events"] if event["action"] == action]


def test_a_night_call_says_it_waits_for_the_morning_shift_until_eight_local_time(desk, staff):
    desk.clock.set(NIGHT)  # Monday 22:00 in Shanghai

    ticket = desk.open(by=staff.night)

    held = desk.ticket(ticket)
    assert held["waiting_for"] == "等待早班 03-03 08:00 派单"
    assert held["waiting_kind"] == "night_hold"
    assert held["until"] == NEXT_MORNING.isoformat()
    assert datetime.fromisoformat(held["until"]).astimezone(SHANGHAI).strftime("%H:%M") == "08:00"
    with desk.app.app_context():  # a request of its own, as in production (the test's context caches the locale)
        in_english = staff.agent.client.get(f"/api/v1/tickets/{ticket.number}",
                                            headers={**staff.agent.user.headers, "Accept-Language": "en"})
    assert in_english.json["waiting_for"] == "Waiting for the morning shift: dispatch at 03-03 08:00"


def test_the_cs_supervisor_dispatches_a_night_call_at_once_with_a_reason_and_an_agent_may_not(desk, staff):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night)

    refused = act(staff.agent, ticket.number, "dispatch-now")
    assert refused.status_code == 403
    no_reason = act(staff.supervisor, ticket.number, "dispatch-now", reason="  ")
    assert no_reason.status_code == 400
    assert no_reason.json["errors"] == {"reason": "required"}
    assert desk.open_task_names(ticket) == []  # still held: neither request moved it

    done = act(staff.supervisor, ticket.number, "dispatch-now", reason="业主家中漏水加重，立即派单。")

    assert done.status_code == 200, done.json
    assert desk.open_task_names(ticket) == ["morning_handover"]  # no clock moved: handed to the desk now
    assert done.json["waiting_kind"] == "task"
    assert done.json["waiting_for"].startswith("等待「早班接手」")
    [audited] = events(desk, ticket, "dispatched_now")
    assert (audited["actor"], audited["data"]) == ("supervisor", {"reason": "业主家中漏水加重，立即派单。"})
    again = act(staff.supervisor, ticket.number, "dispatch-now")
    assert again.status_code == 409  # it no longer waits for the morning


def test_a_ticket_waiting_to_be_called_back_again_shows_when_and_the_supervisor_may_call_now(desk, staff):
    ticket = desk.open()
    repair_until_confirmation(desk, ticket, staff.eng_super)
    desk.handle(staff.agent, ticket, "call_owner", UNREACHED)

    waiting = desk.ticket(ticket)
    retry_at = datetime.fromisoformat(desk.instance(ticket)["next_timer_at"])
    assert waiting["waiting_kind"] == "callback_retry"
    assert waiting["until"] == retry_at.isoformat()
    assert waiting["waiting_for"] == f"回访于 {retry_at.astimezone(SHANGHAI).strftime('%m-%d %H:%M')}"
    assert act(staff.supervisor, ticket.number, "dispatch-now").status_code == 409  # not a night hold

    called = act(staff.supervisor, ticket.number, "call-back-now")

    assert called.status_code == 200, called.json
    assert desk.open_task_names(ticket) == ["call_owner"]
    assert called.json["waiting_kind"] == "callback"
    assert len(events(desk, ticket, "called_back_now")) == 1


def test_a_pause_for_parts_says_how_long_it_has_lasted_and_the_supervisor_may_end_it(desk, staff):
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    expected = (desk.clock.now() + timedelta(days=2, hours=20)).isoformat()
    desk.handle(staff.tech, ticket, "inspect_on_site", {**INSPECTION, "waiting_for_parts": True,
                                                         "parts_note": "防水卷材缺货。", "parts_expected_at": expected})
    assert desk.ticket(ticket)["waiting_for"] == "暂停：等待配件（已 0 小时）"

    desk.wait(timedelta(days=2, hours=3), ticket)

    paused = desk.ticket(ticket)
    assert (paused["waiting_kind"], paused["waiting_for"]) == ("paused", "暂停：等待配件（已 2 天）")
    assert act(staff.agent, ticket.number, "end-pause").status_code == 403

    ended = act(staff.supervisor, ticket.number, "end-pause", reason="配件已由仓库调拨到位。")

    assert ended.status_code == 200, ended.json
    assert "parts_arrived" not in desk.open_task_names(ticket)
    assert ended.json["waiting_kind"] != "paused"
    [audited] = events(desk, ticket, "pause_ended")
    assert audited["data"] == {"reason": "配件已由仓库调拨到位。"}


def test_an_owner_deciding_on_a_quote_is_what_the_ticket_waits_for_until_its_deadline(desk, staff):
    ticket = desk.open(unit="1栋-0302", part="plumbing")  # handed over six years ago: the owner pays
    desk.handle(staff.prop_super, ticket, "dispatch_technician", {**DISPATCH, "technician": "tech"})
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)

    waiting = desk.ticket(ticket)

    assert waiting["waiting_kind"] == "owner_quote"
    due = datetime.fromisoformat(waiting["until"]).astimezone(SHANGHAI).strftime("%m-%d %H:%M")
    assert waiting["waiting_for"] == f"等待业主确认报价（{due} 到期）"


def test_a_closed_ticket_waits_for_nothing(desk, staff):
    ticket = desk.open(category="consultation", part=None)
    desk.handle(staff.agent, ticket, "answer_consultation",
                {"answered_on_the_spot": True, "answer": "物业费可在 App 缴纳。"})

    closed = desk.ticket(ticket)

    assert (closed["stage"], closed["waiting_for"], closed["until"]) == ("closed", None, None)


def test_the_ticket_page_offers_dispatch_now_to_the_cs_supervisor_only_and_keeps_a_missing_reason(desk, staff, app):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night)
    agent, supervisor = console_as(app, "agent"), console_as(app, "supervisor")

    seen_by_agent = agent.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "等待早班 03-03 08:00 派单" in seen_by_agent
    assert 'id="waiting-countdown"' in seen_by_agent
    assert "立即派单" not in seen_by_agent
    assert agent.post(f"/tickets/{ticket.number}/wait", {"action": "dispatch_now", "reason": "急"}).status_code == 403

    refused = supervisor.post(f"/tickets/{ticket.number}/wait", {"action": "dispatch_now", "reason": " "})
    assert refused.status_code == 400
    assert "请填写原因" in refused.get_data(as_text=True)
    done = supervisor.post(f"/tickets/{ticket.number}/wait", {"action": "dispatch_now", "reason": "业主急需处理。"})

    assert done.status_code == 302
    assert desk.open_task_names(ticket) == ["morning_handover"]
    page = supervisor.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "已完成：立即派单。" in page
    assert "主管立即派单" in page and "业主急需处理。" in page  # on the timeline, with the reason


def test_the_admin_instance_list_and_page_say_what_the_ticket_waits_for(desk, staff, app):
    desk.clock.set(NIGHT)
    ticket = desk.open(by=staff.night)
    supervisor = console_as(app, "supervisor")  # managers read the admin console

    listed = supervisor.get("/admin/").get_data(as_text=True)
    page = supervisor.get(f"/admin/instances/{ticket.instance_id}").get_data(as_text=True)

    assert "等待早班 03-03 08:00 派单" in listed
    assert "等待早班 03-03 08:00 派单" in page
