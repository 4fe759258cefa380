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
