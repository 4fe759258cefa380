"""Deadlines that happen by themselves: reminders at 80 %, level 2 at the limit, level 3 after half again.

The worker runs (``desk.wait``) as the clock moves; each person reads their bell through the API
(GET /notifications), and owners' text messages are read from the outbox the worker delivers.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Ticket
from app.models.jobs import Job, OutboxMessage
from tests.scenarios.conftest import (
    CLASSIFIED,
    INVESTIGATED,
    OWNER_PHONE,
    START,
    UNREACHED,
    VALID_LEAK,
    call_back,
    repair_until_confirmation,
)
from tests.scenarios.test_complaint_scenarios import complaint

SAFETY = {**VALID_LEAK, "complaint_type": "safety"}  # complaint_time_limits.dmn: 24 hours


def bell(user):
    """(unread count, [(kind, ticket number, level)]) as the person's bell shows it."""
    page = user.get("/notifications").json
    return page["unread"], [(item["kind"], item["params"]["number"], item["params"].get("level"))
                            for item in page["items"]]


def texts_to(phone):
    db.session.remove()
    return [message.body for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id))]


def templates_to(phone):
    db.session.remove()
    return [(message.template, message.params) for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id))]


def deadline_jobs(desk, ticket):
    db.session.remove()
    ticket_id = select(Ticket.id).where(Ticket.number == ticket.number).scalar_subquery()
    return sorted(db.session.scalars(select(Job.kind).where(Job.ticket_id == ticket_id)))


def test_a_complaint_left_alone_reminds_at_80_percent_then_escalates_to_level_two_and_three(desk, staff):
    ticket = complaint(desk, complaint_type="safety", description="小区大门电动门夹人。")
    desk.handle(staff.agent, ticket, "judge_validity", SAFETY)
    assert desk.ticket(ticket)["due_at"] == (START + timedelta(hours=24)).isoformat()

    # 80 % of 24 hours is 19 h 12 min: the department's owners holding the task are reminded then.
    desk.wait(timedelta(hours=19, minutes=11), ticket)
    assert bell(staff.eng_owner) == (0, [])
    desk.wait(timedelta(minutes=2), ticket)
    assert bell(staff.eng_owner) == (1, [("due_soon", ticket.number, None)])
    assert bell(staff.supervisor) == (0, [])

    # At the limit the flow escalates to level 2: the department reminded, the CS supervisor notified.
    assert desk.wait(timedelta(hours=4, minutes=48), ticket) == ["contact_and_investigate", "supervisor_follow_up"]
    assert desk.ticket(ticket)["escalation_level"] == 2
    assert bell(staff.eng_owner)[1][0] == ("escalated", ticket.number, 2)
    assert bell(staff.supervisor) == (1, [("escalated", ticket.number, 2)])
    assert bell(staff.manager) == (0, [])

    # Still open half the limit (12 h) after it: level 3, the property manager.
    desk.wait(timedelta(hours=11, minutes=58), ticket)
    assert desk.ticket(ticket)["escalation_level"] == 2
    desk.wait(timedelta(minutes=2), ticket)
    assert desk.ticket(ticket)["escalation_level"] == 3
    assert bell(staff.manager) == (1, [("escalated", ticket.number, 3)])

    # Days later: every notice came once, to the right people only.
    desk.wait(timedelta(days=3), ticket)
    assert Counter(bell(staff.eng_owner)[1]) == {("due_soon", ticket.number, None): 1,
                                                 ("escalated", ticket.number, 2): 1}
    assert bell(staff.supervisor)[1] == [("escalated", ticket.number, 2)]
    assert bell(staff.manager)[1] == [("escalated", ticket.number, 3)]
    for bystander in (staff.agent, staff.prop_owner, staff.tech):
        assert bell(bystander) == (0, [])
    assert desk.ticket(ticket)["escalation_level"] == 3


def test_a_complaint_handled_in_time_is_never_escalated_and_its_deadline_jobs_are_gone(desk, staff):
    ticket = complaint(desk)
    desk.handle(staff.agent, ticket, "judge_validity", VALID_LEAK)  # leak or crack: 7 days
    # the ticket's reminder and level 3, and the first contact's own ladder (24 h: 80 %, level 2, level 3)
    assert deadline_jobs(desk, ticket) == ["escalate", "escalate", "escalate", "reminder", "reminder"]
    desk.handle(staff.eng_owner, ticket, "contact_and_investigate", INVESTIGATED)
    assert deadline_jobs(desk, ticket) == ["escalate", "reminder"]
    desk.handle(staff.eng_owner, ticket, "propose_solution", {"solution": "重做卫生间防水层。"})
    desk.handle(staff.head, ticket, "approve_solution", {"approved": True})
    desk.wait(timedelta(days=2), ticket)
    desk.handle(staff.eng_owner, ticket, "implement_solution", {"done_note": "防水层已重做。", "waiting_for": "none"})
    desk.handle(staff.agent, ticket, "confirm_with_owner", {"owner_accepts": True})

    assert deadline_jobs(desk, ticket) == ["escalate", "escalate", "reminder"]  # the callback call's own ladder
    call_back(desk, ticket)
    desk.handle(staff.supervisor, ticket, "classify", CLASSIFIED)
    desk.wait(timedelta(days=14), ticket)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["escalation_level"], closed["closed_in_time"]) == ("closed", 0, True)
    for person in (staff.eng_owner, staff.supervisor, staff.manager):
        assert [kind for kind, _, _ in bell(person)[1]] == []
    assert deadline_jobs(desk, ticket) == []


def test_the_owner_gets_a_text_when_the_call_is_recorded_the_visit_agreed_the_work_done_and_after_the_callback(
        desk, staff):
    ticket = desk.open()
    assert texts_to(OWNER_PHONE) == [
        f"【客服中心】您的报修已受理，工单号 {ticket.number}。我们将按时处理，如有疑问请致电客服中心。"]
    repair_until_confirmation(desk, ticket, staff.eng_super)
    call_back(desk, ticket)

    rating_link = "请点击链接评价本次服务"  # the owner's rating link (tests/web of the owners' answers)
    assert [text for text in texts_to(OWNER_PHONE)[1:] if rating_link not in text] == [
        f"【客服中心】工单 {ticket.number}：已与您约定 03月03日 09:00 上门，届时请留人在家。",
        f"【客服中心】工单 {ticket.number} 已处理完成，我们将回访了解您的意见。",
        f"【客服中心】感谢您接受工单 {ticket.number} 的回访，您的意见我们已记录。",
    ]
    number = {"number": ticket.number}  # each text goes as an approved template and its parameters
    assert [text for text in templates_to(OWNER_PHONE) if text[0] != "owner_rating_link"] == [
        ("ticket_received", {"kind": "报修", **number}), ("appointment_agreed", {**number, "time": "03月03日 09:00"}),
        ("work_done", number), ("callback_thanks", number)]
    desk.wait(timedelta(minutes=1), ticket)
    db.session.remove()
    assert {message.status for message in db.session.scalars(select(OutboxMessage))} == {"sent"}  # by the worker


def test_an_owner_never_reached_gets_one_text_saying_so_when_the_callbacks_end(desk, staff):
    ticket = desk.open()
    repair_until_confirmation(desk, ticket, staff.eng_super)
    for _ in range(3):
        call_back(desk, ticket, UNREACHED)

    unreachable = [text for text in texts_to(OWNER_PHONE) if "未能联系上您" in text]
    assert unreachable == [f"【客服中心】工单 {ticket.number} 回访多次未能联系上您，如有问题请致电客服中心。"]
    assert ("callback_unreachable", {"number": ticket.number}) in templates_to(OWNER_PHONE)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_sales_complaint_is_reminded_and_escalated_in_working_time_around_national_day(desk, staff, api_as):
    """5 working days from Friday 26 Sep 2025 15:00: due Fri 10 Oct 15:00 (Sunday 28 Sep is a make-up day,
    1-8 Oct are holidays). 80 % of 45 office hours is Thu 9 Oct 15:00; half again past the due time
    (22.5 office hours, the make-up Saturday 11 Oct counting) is Tue 14 Oct 10:30."""
    sales_owner = api_as("sales_owner", "dept_owner", departments=("sales",))
    desk.clock.set(datetime(2025, 9, 26, 15, 0, tzinfo=SHANGHAI))
    ticket = complaint(desk, complaint_type="sales", description="销售承诺的车位至今没有兑现。")
    desk.handle(staff.agent, ticket, "judge_validity",
                {**VALID_LEAK, "complaint_type": "sales", "responsible_department": "sales"})
    assert desk.ticket(ticket)["due_at"] == datetime(2025, 10, 10, 15, 0, tzinfo=SHANGHAI).astimezone(UTC).isoformat()
    desk.handle(sales_owner, ticket, "contact_and_investigate", INVESTIGATED)  # contacted in time (its own 24 h)

    desk.wait(datetime(2025, 10, 9, 14, 59, tzinfo=SHANGHAI) - desk.clock.now(), ticket)
    assert bell(sales_owner) == (0, [])
    desk.wait(2 * timedelta(minutes=1), ticket)
    assert bell(sales_owner) == (1, [("due_soon", ticket.number, None)])

    desk.wait(datetime(2025, 10, 14, 10, 29, tzinfo=SHANGHAI) - desk.clock.now(), ticket)
    assert desk.ticket(ticket)["escalation_level"] == 2  # at the due time, by the flow
    assert bell(staff.manager) == (0, [])
    desk.wait(2 * timedelta(minutes=1), ticket)
    assert desk.ticket(ticket)["escalation_level"] == 3
    assert bell(staff.manager) == (1, [("escalated", ticket.number, 3)])
