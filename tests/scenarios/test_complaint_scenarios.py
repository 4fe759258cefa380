"""Complaints (投诉处理) as the staff live them: validity, the department's handling, approval, callback, closing.

The engine-level paths are in tests/flows/test_complaint_flow.py; here each step is done through the API
by the person whose inbox shows it, and the ticket is read back as the console shows it.
"""

from __future__ import annotations

from datetime import timedelta

from tests.scenarios.conftest import (
    CLASSIFIED,
    INVALID,
    INVESTIGATED,
    SATISFIED,
    START,
    VALID_LEAK,
    call_back,
    holder,
)

LEAK_LIMIT = timedelta(hours=168)  # leak or crack: 7 days (complaint_time_limits.dmn)


def complaint(desk, **changes):
    """A complaint call about a leak (unless ``changes`` say otherwise), recorded by the day agent."""
    return desk.open(**{"category": "complaint", "complaint_type": "leak_crack", "part": None,
                        "description": "卫生间墙面渗水，墙皮起鼓，已经报修两次没人管。", **changes})


def test_a_valid_complaint_is_revised_approved_accepted_called_back_classified_and_closed(desk, staff):
    ticket = complaint(desk)
    assert (desk.ticket(ticket)["stage"], desk.ticket(ticket)["due_at"]) == ("validity", None)

    judge = desk.handle(staff.agent, ticket, "judge_validity", VALID_LEAK, not_by=[staff.eng_owner, staff.night])
    assert holder(judge) == ("cs_agent", None, None)
    dispatched = desk.ticket(ticket)
    assert (dispatched["stage"], dispatched["department"]) == ("investigation", "engineering")
    assert dispatched["due_at"] == (START + LEAK_LIMIT).isoformat()

    investigate = desk.handle(staff.eng_owner, ticket, "contact_and_investigate", INVESTIGATED,
                              not_by=[staff.prop_owner, staff.head, staff.agent])
    assert holder(investigate) == ("dept_owner", "engineering", None)
    # the inbox shows the first contact's deadline: within 24 hours, well before the 7 days of the complaint
    assert investigate["due_at"] == (START + timedelta(hours=24)).isoformat()
    desk.handle(staff.eng_owner, ticket, "propose_solution", {"solution": "修补墙面。"}, not_by=[staff.prop_owner])
    assert desk.ticket(ticket)["stage"] == "approval"

    approve = desk.handle(staff.head, ticket, "approve_solution",
                          {"approved": False, "approval_reason": "只补墙面不解决渗水，先重做防水。"},
                          not_by=[staff.eng_owner, staff.supervisor])
    assert holder(approve) == ("dept_head", "engineering", None)

    revise = desk.task_for(staff.eng_owner, ticket, "propose_solution")
    assert desk.task_data(staff.eng_owner, revise)["approval_reason"] == "只补墙面不解决渗水，先重做防水。"
    assert desk.ticket(ticket)["stage"] == "solution"
    desk.handle(staff.eng_owner, ticket, "propose_solution", {"solution": "重做卫生间防水，修补墙面。",
                                                              "planned_completion": "2026-03-06T18:00:00+08:00"})
    desk.handle(staff.head, ticket, "approve_solution", {"approved": True})
    assert desk.ticket(ticket)["stage"] == "implementation"
    desk.handle(staff.eng_owner, ticket, "implement_solution", {"done_note": "防水已重做。", "waiting_for": "none"},
                not_by=[staff.prop_owner])
    confirm = desk.handle(staff.agent, ticket, "confirm_with_owner", {"owner_accepts": True},
                          not_by=[staff.eng_owner])
    assert holder(confirm) == ("cs_agent", None, None)
    assert desk.ticket(ticket)["stage"] == "callback"
    assert desk.open_task_names(ticket) == ["call_owner"]  # at once, due within 24 hours

    call_back(desk, ticket, SATISFIED)
    assert desk.ticket(ticket)["stage"] == "classification"
    classify = desk.handle(staff.supervisor, ticket, "classify", CLASSIFIED, not_by=[staff.agent, staff.manager])
    assert holder(classify) == ("cs_supervisor", None, None)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "resolved", "satisfied")
    assert (closed["department"], closed["escalation_level"], closed["rework_count"]) == ("engineering", 0, 0)
    assert closed["closed_at"] == desk.clock.now().isoformat()
    assert (closed["closed_in_time"], closed["closed_first_time"], closed["reopened"]) == (True, True, False)
    assert desk.status(ticket) == "completed"


def test_an_invalid_complaint_is_explained_to_the_owner_and_closed_as_invalid(desk, staff):
    ticket = complaint(desk, description="楼下邻居装修太吵，要求物业赔偿。")
    desk.handle(staff.agent, ticket, "judge_validity", INVALID)

    explain = desk.handle(staff.agent, ticket, "explain_to_owner",
                          {"explanation": "已说明装修时段符合规定，可协助沟通。", "owner_accepts": True},
                          not_by=[staff.supervisor, staff.prop_owner])
    assert holder(explain) == ("cs_agent", None, None)
    explained = desk.ticket(ticket)
    assert (explained["stage"], explained["outcome"]) == ("review", "invalid")

    review = desk.handle(staff.supervisor, ticket, "supervisor_review_invalid", {"reopen": False},
                         not_by=[staff.agent, staff.manager])
    assert holder(review) == ("cs_supervisor", None, None)
    assert desk.ticket(ticket)["stage"] == "callback"
    assert desk.status(ticket) != "completed"  # an invalid complaint is called back too

    call = call_back(desk, ticket, SATISFIED)
    assert holder(call) == ("cs_agent", None, None)

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["satisfaction"]) == ("closed", "invalid", "satisfied")
    assert (closed["department"], closed["closed_at"]) == (None, desk.clock.now().isoformat())
    assert (closed["closed_in_time"], closed["closed_first_time"]) == (True, True)
    assert desk.status(ticket) == "completed"


def test_the_supervisor_reopens_a_complaint_judged_invalid_and_it_is_judged_again(desk, staff):
    ticket = complaint(desk)
    desk.handle(staff.agent, ticket, "judge_validity", INVALID)
    desk.handle(staff.agent, ticket, "explain_to_owner", {"explanation": "已说明原因。", "owner_accepts": True})

    desk.handle(staff.supervisor, ticket, "supervisor_review_invalid",
                {"reopen": True, "review_note": "交付时墙面已有裂缝记录，应属质量问题。"})

    reopened = desk.ticket(ticket)
    assert (reopened["stage"], reopened["outcome"], reopened["closed_at"]) == ("validity", None, None)
    judge = desk.task_for(staff.agent, ticket, "judge_validity")
    assert desk.task_data(staff.agent, judge)["review_note"] == "交付时墙面已有裂缝记录，应属质量问题。"
    desk.handle(staff.agent, ticket, "judge_validity", VALID_LEAK)
    assert holder(desk.task_for(staff.eng_owner, ticket, "contact_and_investigate")) == (
        "dept_owner", "engineering", None)
    assert (desk.ticket(ticket)["department"], desk.status(ticket)) == ("engineering", "running")


def test_a_complaint_sent_back_by_the_wrong_department_is_judged_again_and_dispatched_to_the_right_one(desk, staff):
    ticket = complaint(desk)
    desk.handle(staff.agent, ticket, "judge_validity", {**VALID_LEAK, "responsible_department": "property"})
    assert desk.ticket(ticket)["department"] == "property"

    desk.handle(staff.prop_owner, ticket, "contact_and_investigate",
                {"withdrawn": False, "send_back": True, "send_back_reason": "渗水是工程质量问题，不归物业。"},
                not_by=[staff.eng_owner])

    judge = desk.task_for(staff.agent, ticket, "judge_validity")
    assert desk.task_data(staff.agent, judge)["send_back_reason"] == "渗水是工程质量问题，不归物业。"
    assert desk.instance(ticket)["next_timer_at"] is None  # no deadline watch while nobody handles it
    assert desk.ticket(ticket)["stage"] == "validity"
    desk.handle(staff.agent, ticket, "judge_validity", VALID_LEAK)

    investigate = desk.task_for(staff.eng_owner, ticket, "contact_and_investigate")
    assert holder(investigate) == ("dept_owner", "engineering", None)
    desk.refused(investigate, staff.prop_owner)
    redispatched = desk.ticket(ticket)
    assert (redispatched["department"], redispatched["stage"]) == ("engineering", "investigation")
    assert redispatched["due_at"] == (START + LEAK_LIMIT).isoformat()  # the clock runs from the call
    assert desk.status(ticket) == "running"


def test_a_complaint_transferred_to_another_department_is_investigated_there(desk, staff):
    ticket = complaint(desk, complaint_type="property_service", description="地库积水，车被泡。")
    desk.handle(staff.agent, ticket, "judge_validity", {**VALID_LEAK, "complaint_type": "property_service"})

    desk.handle(staff.eng_owner, ticket, "contact_and_investigate",
                {"withdrawn": False, "send_back": False, "transfer_to": "property"})

    investigate = desk.task_for(staff.prop_owner, ticket, "contact_and_investigate")
    assert holder(investigate) == ("dept_owner", "property", None)
    desk.refused(investigate, staff.eng_owner)
    transferred = desk.ticket(ticket)
    assert (transferred["department"], transferred["stage"]) == ("property", "investigation")
    assert transferred["due_at"] == (START + timedelta(hours=72)).isoformat()  # property service: 3 days
    desk.handle(staff.prop_owner, ticket, "contact_and_investigate", INVESTIGATED)
    assert holder(desk.task_for(staff.prop_owner, ticket, "propose_solution")) == ("dept_owner", "property", None)
    assert desk.status(ticket) == "running"


def test_a_missed_complaint_deadline_brings_in_the_cs_supervisor_at_level_two_and_the_ticket_stays_put(desk, staff):
    ticket = complaint(desk, complaint_type="safety", description="小区大门电动门夹人。")
    desk.handle(staff.agent, ticket, "judge_validity", {**VALID_LEAK, "complaint_type": "safety"})
    assert desk.ticket(ticket)["due_at"] == (START + timedelta(hours=24)).isoformat()
    desk.handle(staff.eng_owner, ticket, "contact_and_investigate",
                {"withdrawn": False, "send_back": False, "transfer_to": "property"})
    assert desk.wait(timedelta(hours=23, minutes=59), ticket) == ["contact_and_investigate"]

    assert desk.wait(2 * timedelta(minutes=1), ticket) == ["contact_and_investigate", "supervisor_follow_up"]

    follow_up = desk.task_for(staff.supervisor, ticket, "supervisor_follow_up")
    assert holder(follow_up) == ("cs_supervisor", None, None)
    desk.refused(follow_up, staff.agent, staff.prop_owner)
    escalated = desk.ticket(ticket)
    assert escalated["escalation_level"] == 2
    assert (escalated["stage"], escalated["department"]) == ("investigation", "property")  # where it stands
    desk.handle(staff.supervisor, ticket, "supervisor_follow_up", {"follow_up_note": "已电话督促物业当天上门。"})
    assert desk.open_task_names(ticket) == ["contact_and_investigate"]
    assert holder(desk.task_for(staff.prop_owner, ticket, "contact_and_investigate")) == (
        "dept_owner", "property", None)
    assert desk.ticket(ticket)["escalation_level"] == 2


def test_waiting_for_parts_stops_the_complaint_clock_and_the_deadline_moves_by_the_time_paused(desk, staff):
    ticket = complaint(desk, complaint_type="safety", description="单元门禁坏了，夜里关不上。")  # 24 hours
    desk.handle(staff.agent, ticket, "judge_validity", {**VALID_LEAK, "complaint_type": "safety"})
    desk.handle(staff.eng_owner, ticket, "contact_and_investigate", INVESTIGATED)
    desk.handle(staff.eng_owner, ticket, "propose_solution", {"solution": "更换门禁电磁锁。"})
    desk.handle(staff.head, ticket, "approve_solution", {"approved": True})
    desk.clock.advance(timedelta(hours=2))
    in_two_days = desk.clock.now() + timedelta(days=2)  # inside the pause cap: no approval needed

    desk.handle(staff.eng_owner, ticket, "implement_solution", {"done_note": "电磁锁缺货，已订购。",
                                                                "waiting_for": "parts",
                                                                "pause_until": in_two_days.isoformat()})
    resume = desk.task_for(staff.eng_owner, ticket, "resume_work")
    assert holder(resume) == ("dept_owner", "engineering", None)
    desk.refused(resume, staff.prop_owner)

    assert desk.wait(timedelta(hours=30), ticket) == ["resume_work"]  # no escalation while the clock stands
    assert desk.ticket(ticket)["escalation_level"] == 0
    desk.handle(staff.eng_owner, ticket, "resume_work", {"resume_note": "电磁锁到货。"})

    moved = START + timedelta(hours=24 + 30)
    assert desk.ticket(ticket)["due_at"] == moved.isoformat()
    assert desk.instance(ticket)["next_timer_at"] == moved.isoformat()  # the deadline watch runs on the moved time
    assert desk.wait(moved - desk.clock.now() + timedelta(minutes=1), ticket) == [
        "implement_solution", "supervisor_follow_up"]
    assert desk.ticket(ticket)["escalation_level"] == 2
