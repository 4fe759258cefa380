"""Every human step has a deadline of its own (bpmn/step_time_limits.dmn), with the ticket's ladder.

The clock and the worker are moved as in test_deadline_scenarios.py; people read their bells and
inboxes through the API.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.scenarios.conftest import INVESTIGATED, START, UNREACHED, VALID_LEAK, repair_until_confirmation
from tests.scenarios.test_complaint_scenarios import complaint
from tests.scenarios.test_deadline_scenarios import bell, deadline_jobs

A_MINUTE = timedelta(minutes=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def inbox_due(desk, user, ticket, element_id):
    """The due time the user's inbox shows for the ticket's task ``element_id``."""
    return datetime.fromisoformat(desk.task_for(user, ticket, element_id)["due_at"])


def test_a_validity_judgment_left_alone_is_reminded_then_escalated_to_level_two_and_three_once_each(desk, staff):
    ticket = complaint(desk)
    assert inbox_due(desk, staff.agent, ticket, "judge_validity") == START + timedelta(hours=24)
    assert desk.ticket(ticket)["escalation_level"] == 0

    # 80 % of 24 hours: the agents who may judge it are reminded.
    desk.wait(timedelta(hours=19, minutes=11), ticket)
    assert bell(staff.agent) == (0, [])
    desk.wait(2 * A_MINUTE, ticket)
    assert bell(staff.agent) == (1, [("due_soon", ticket.number, None)])
    assert bell(staff.supervisor) == (0, [])

    # At its due time: level 2, the lane's holders reminded and the CS supervisor notified.
    desk.wait(timedelta(hours=4, minutes=46), ticket)
    assert desk.ticket(ticket)["escalation_level"] == 0
    desk.wait(2 * A_MINUTE, ticket)
    assert desk.ticket(ticket)["escalation_level"] == 2
    assert bell(staff.supervisor) == (1, [("escalated", ticket.number, 2)])
    assert bell(staff.agent)[1][0] == ("escalated", ticket.number, 2)
    assert bell(staff.manager) == (0, [])

    # Half the step's time (12 h) later: level 3, the property manager.
    desk.wait(timedelta(hours=11, minutes=57), ticket)
    assert bell(staff.manager) == (0, [])
    desk.wait(3 * A_MINUTE, ticket)
    assert desk.ticket(ticket)["escalation_level"] == 3
    assert bell(staff.manager) == (1, [("escalated", ticket.number, 3)])

    desk.wait(timedelta(days=5), ticket)
    assert Counter(bell(staff.agent)[1]) == {("due_soon", ticket.number, None): 1, ("escalated", ticket.number, 2): 1}
    assert bell(staff.supervisor)[1] == [("escalated", ticket.number, 2)]
    assert bell(staff.manager)[1] == [("escalated", ticket.number, 3)]
    for bystander in (staff.eng_owner, staff.tech, staff.night):
        assert bell(bystander) == (0, [])


def test_a_step_done_in_time_cancels_its_reminders(desk, staff):
    ticket = complaint(desk)
    assert deadline_jobs(desk, ticket) == ["escalate", "escalate", "reminder"]  # the judgment's own ladder
    desk.wait(timedelta(hours=2), ticket)
    desk.handle(staff.agent, ticket, "judge_validity", VALID_LEAK)
    desk.handle(staff.eng_owner, ticket, "contact_and_investigate", INVESTIGATED)

    desk.wait(timedelta(days=2), ticket)
    assert [kind for kind, _, _ in bell(staff.agent)[1]] == []
    assert [kind for kind, _, _ in bell(staff.eng_owner)[1]] == []
    assert desk.ticket(ticket)["escalation_level"] == 0


def test_the_callback_call_appears_at_once_due_within_24_hours_and_retries_in_office_hours(desk, staff):
    ticket = desk.open()
    repair_until_confirmation(desk, ticket, staff.eng_super)
    assert "call_owner" in desk.open_task_names(ticket)  # at once, no waiting first
    assert inbox_due(desk, staff.agent, ticket, "call_owner") == desk.clock.now() + timedelta(hours=24)

    desk.clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=SHANGHAI))  # Monday 17:00: 1 office hour left today
    desk.handle(staff.agent, ticket, "call_owner", UNREACHED)
    retry_at = datetime.fromisoformat(desk.instance(ticket)["next_timer_at"]).astimezone(SHANGHAI)
    assert retry_at == datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI)  # 1 h on Monday, 3 h from 09:00 Tuesday
    desk.wait(retry_at - desk.clock.now() + A_MINUTE, ticket)
    assert "call_owner" in desk.open_task_names(ticket)
    retry_due = retry_at + A_MINUTE + timedelta(hours=4)  # 4 office hours: 16:01 on Tuesday
    assert inbox_due(desk, staff.agent, ticket, "call_owner") == retry_due.astimezone(UTC)


def at_the_work(desk, staff):
    """A leak complaint judged, investigated, its solution approved: the department is at the work."""
    ticket = complaint(desk)
    desk.handle(staff.agent, ticket, "judge_validity", VALID_LEAK)
    desk.handle(staff.eng_owner, ticket, "contact_and_investigate", INVESTIGATED)
    desk.handle(staff.eng_owner, ticket, "propose_solution", {"solution": "重做卫生间防水层。"})
    desk.handle(staff.head, ticket, "approve_solution", {"approved": True})
    return ticket


def test_a_long_pause_waits_for_the_cs_supervisor_who_sees_why(desk, staff):
    ticket = at_the_work(desk, staff)
    back_by = desk.clock.now() + timedelta(days=6)
    desk.handle(staff.eng_owner, ticket, "implement_solution", {
        "done_note": "防水卷材停产，等厂家补货。", "waiting_for": "parts", "pause_until": back_by.isoformat()})

    assert desk.open_task_names(ticket) == ["approve_pause"]
    shown = desk.task_data(staff.supervisor, desk.task_for(staff.supervisor, ticket, "approve_pause"))
    assert (shown["done_note"], shown["waiting_for"]) == ("防水卷材停产，等厂家补货。", "parts")  # the reason
    assert datetime.fromisoformat(shown["pause_until"]) == back_by
    desk.handle(staff.supervisor, ticket, "approve_pause", {"pause_approved": True, "pause_review_note": "同意。"},
                not_by=[staff.agent, staff.eng_owner])
    assert inbox_due(desk, staff.eng_owner, ticket, "resume_work") == back_by  # the planned end, not open-ended


def test_a_refused_pause_sends_the_department_back_to_work(desk, staff):
    ticket = at_the_work(desk, staff)
    desk.handle(staff.eng_owner, ticket, "implement_solution", {
        "done_note": "业主出国，等回来再修。", "waiting_for": "owner",
        "pause_until": (desk.clock.now() + timedelta(days=20)).isoformat()})

    desk.handle(staff.supervisor, ticket, "approve_pause",
                {"pause_approved": False, "pause_review_note": "可请家属开门，不同意暂停。"})

    assert desk.open_task_names(ticket) == ["implement_solution"]


def test_a_short_pause_needs_no_approval(desk, staff):
    ticket = at_the_work(desk, staff)
    back_by = desk.clock.now() + timedelta(days=2)
    desk.handle(staff.eng_owner, ticket, "implement_solution", {
        "done_note": "等业主周三在家。", "waiting_for": "owner", "pause_until": back_by.isoformat()})

    assert desk.open_task_names(ticket) == ["resume_work"]
    assert inbox_due(desk, staff.eng_owner, ticket, "resume_work") == back_by


def test_a_pause_without_a_planned_end_is_refused_with_the_field_named(desk, staff):
    ticket = at_the_work(desk, staff)
    task = desk.task_for(staff.eng_owner, ticket, "implement_solution")

    response = staff.eng_owner.post(f"/tasks/{task['id']}/complete",
                                    json={"data": {"done_note": "等配件。", "waiting_for": "parts"}})

    assert response.status_code == 422
    assert "pause_until" in response.json["errors"]
    assert desk.open_task_names(ticket) == ["implement_solution"]
