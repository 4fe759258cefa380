"""Complaint (投诉处理): validity, time limit, handling by the department, callback, classification.

Started the way reception starts it (its data as the reception hands it over); the callback runs
inside it as a call activity. Tasks inside the handling sub-process are checked through their own
data, because an instance's step result shows the data of the top process's last step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from app.engine import StepResult
from app.services.errors import InvalidFormError, msg
from tests.flows.conftest import START, Flows, ready_names

REQUIRED = msg("required")  # a required field's error, as the services say it

A_MINUTE = timedelta(minutes=1)
LEAK_LIMIT = timedelta(hours=168)


@pytest.fixture
def flows(make_flows) -> Flows:
    return make_flows("complaint.bpmn", "callback.bpmn")


def received(flows: Flows, **changes: Any) -> StepResult:
    """A complaint as reception hands it over."""
    return flows.start("complaint", {
        "ticket_number": "KF-20260302-0001", "reported_at": flows.clock.now().isoformat(), "category": "complaint",
        "description": "卫生间墙面渗水，墙皮起鼓，已经报修两次没人管。", "caller_name": "王先生",
        "phone": "13812345678", "unit": "3栋-1202", "urgency": "normal", "emergency": False, "shift": "day",
        "night_emergency": False, "escalation_level": 0, "rework_count": 0, **changes})


def judged_valid(flows: Flows, result: StepResult, department: str = "engineering",
                 complaint_type: str = "leak_crack", severity: str = "normal",
                 element_id: str = "judge_validity") -> StepResult:
    return flows.complete(result, element_id, {
        "withdrawn": False, "valid": True, "responsible_department": department,
        "complaint_type": complaint_type, "severity": severity, "judgement_note": "防水质量问题，在保修期内。"})


def judged_invalid(flows: Flows, result: StepResult) -> StepResult:
    return flows.complete(result, "judge_validity", {
        "withdrawn": False, "valid": False, "judgement_note": "墙面是业主自行装修后开裂，不属于交付质量问题。"})


def investigated(flows: Flows, result: StepResult, **changes: Any) -> StepResult:
    return flows.complete(result, "contact_and_investigate", {
        "withdrawn": False, "send_back": False, "contacted_owner_at": "2026-03-02T10:30:00+08:00",
        "cause": "卫生间防水层破损。", "responsibility": "product_quality", **changes})


def handled_until_confirmation(flows: Flows, result: StepResult) -> StepResult:
    result = investigated(flows, judged_valid(flows, result))
    result = flows.complete(result, "propose_solution", {"solution": "重做卫生间防水，修补墙面。"})
    result = flows.complete(result, "approve_solution", {"approved": True})
    return flows.complete(result, "implement_solution", {"done_note": "防水已重做，闭水试验 48 小时无渗漏。",
                                                         "waiting_for": "none"})


def approved_for_work(flows: Flows, result: StepResult, **judged: Any) -> StepResult:
    """Judged valid, investigated, solution proposed and approved: ``implement_solution`` is ready."""
    proposed = flows.complete(investigated(flows, judged_valid(flows, result, **judged)), "propose_solution",
                              {"solution": "更换防水卷材。"})
    return flows.complete(proposed, "approve_solution", {"approved": True})


def called_back_when_due(flows: Flows, result: StepResult) -> StepResult:
    """The callback's call task, after its wait if it waits."""
    if "call_owner" in ready_names(result):
        return result
    return flows.later(result, timedelta(hours=24) + A_MINUTE)


def stage_of(flows: Flows, result: StepResult, element_id: str) -> str:
    return flows.task_data(result, element_id)["stage"]


def where(flows: Flows, result: StepResult, element_id: str) -> tuple[str | None, str | None, str | None]:
    task = flows.task(result, element_id)
    return task.lane, task.department, task.form_key


def test_complaint_deploys_as_one_bundle_with_the_callback(make_flows):
    flows = make_flows("complaint.bpmn", "callback.bpmn")

    started = received(flows)

    assert ready_names(started) == ["judge_validity"]
    assert flows.task(started, "judge_validity").process_id == "complaint"


def test_valid_complaint_is_reworked_approved_accepted_called_back_and_closed_as_resolved(flows):
    started = received(flows)
    assert where(flows, started, "judge_validity") == ("cs_agent", None, "complaint_judge.json")
    assert started.data["stage"] == "validity"

    dispatched = judged_valid(flows, started)
    assert where(flows, dispatched, "contact_and_investigate") == ("dept_owner", "engineering",
                                                                   "complaint_investigate.json")
    assert dispatched.data["limit_hours"] == 168
    assert datetime.fromisoformat(dispatched.data["due_at"]) == START + LEAK_LIMIT
    assert dispatched.next_timer_at == START + LEAK_LIMIT
    assert stage_of(flows, dispatched, "contact_and_investigate") == "investigation"

    proposed = flows.complete(investigated(flows, dispatched), "propose_solution", {"solution": "修补墙面。"})
    assert where(flows, proposed, "approve_solution") == ("dept_head", "engineering", "complaint_approve.json")
    assert stage_of(flows, proposed, "approve_solution") == "approval"

    sent_back = flows.complete(proposed, "approve_solution",
                               {"approved": False, "approval_reason": "只补墙面不解决渗水，先重做防水。"})
    assert where(flows, sent_back, "propose_solution") == ("dept_owner", "engineering", "complaint_solution.json")
    assert stage_of(flows, sent_back, "propose_solution") == "solution"
    assert flows.task_data(sent_back, "propose_solution")["approval_reason"] == "只补墙面不解决渗水，先重做防水。"

    revised = flows.complete(sent_back, "propose_solution", {"solution": "重做卫生间防水，修补墙面。",
                                                             "planned_completion": "2026-03-06T18:00:00+08:00"})
    approved = flows.complete(revised, "approve_solution", {"approved": True})
    assert where(flows, approved, "implement_solution") == ("dept_owner", "engineering", "complaint_implement.json")
    assert stage_of(flows, approved, "implement_solution") == "implementation"

    implemented = flows.complete(approved, "implement_solution", {"done_note": "防水已重做。", "waiting_for": "none"})
    assert where(flows, implemented, "confirm_with_owner") == ("cs_agent", None, "complaint_owner_confirm.json")
    assert stage_of(flows, implemented, "confirm_with_owner") == "owner_confirmation"

    due = flows.complete(implemented, "confirm_with_owner", {"owner_accepts": True})  # the callback at once
    assert flows.task(due, "call_owner").due_at == flows.clock.now() + timedelta(hours=24)
    assert where(flows, due, "call_owner") == ("cs_agent", None, "callback_call.json")
    assert flows.task(due, "call_owner").process_id == "callback"
    assert stage_of(flows, due, "call_owner") == "callback"

    called = flows.complete(due, "call_owner", {"reached": True, "satisfaction": "satisfied"})
    assert where(flows, called, "classify") == ("cs_supervisor", None, "complaint_classify.json")
    assert called.data["stage"] == "classification"

    closed = flows.complete(called, "classify", {"complaint_type": "leak_crack", "root_cause": "product_quality",
                                                 "responsible_department": "engineering", "hot_spot": "leak_crack"})
    assert (closed.status, closed.ready_tasks) == ("completed", ())
    assert (closed.data["outcome"], closed.data["stage"]) == ("resolved", "closed")
    assert (closed.data["satisfaction"], closed.data["callback_done"]) == ("satisfied", True)
    assert (closed.data["department"], closed.data["escalation_level"]) == ("engineering", 0)
    assert (closed.data["reopen_as_complaint"], closed.data["hot_spot"]) == (False, "leak_crack")


@pytest.mark.parametrize(("complaint_type", "severity", "emergency", "hours"), [
    ("safety", "normal", False, 24), ("safety", "serious", False, 24),
    ("leak_crack", "normal", False, 168), ("leak_crack", "serious", False, 72), ("leak_crack", "normal", True, 24),
    ("quality", "normal", False, 168), ("quality", "serious", False, 72),
    ("property_service", "normal", False, 72), ("property_service", "serious", False, 24),
    ("other", "normal", False, 72), ("other", "serious", False, 24), ("other", "normal", True, 24),
    # 5 working days from Monday 09:00: Friday 18:00 (tests/flows/test_working_time_flows.py)
    ("sales", "normal", False, 105),
    ("sales", "serious", False, 57),  # 3 working days: Wednesday 18:00
])
def test_time_limit_depends_on_the_complaint_type_severity_and_emergency(flows, complaint_type, severity, emergency,
                                                                          hours):
    dispatched = judged_valid(flows, received(flows, emergency=emergency), complaint_type=complaint_type,
                              severity=severity)

    assert dispatched.data["limit_hours"] == hours
    assert dispatched.next_timer_at == START + timedelta(hours=hours)


def test_invalid_complaint_is_explained_and_closed_as_invalid_when_the_supervisor_keeps_it_closed(flows):
    judged = judged_invalid(flows, received(flows))
    assert where(flows, judged, "explain_to_owner") == ("cs_agent", None, "complaint_explain.json")

    explained = flows.complete(judged, "explain_to_owner",
                               {"explanation": "已说明开裂由自行装修引起，可协助联系装修公司。", "owner_accepts": True})
    assert where(flows, explained, "supervisor_review_invalid") == ("cs_supervisor", None,
                                                                   "complaint_supervisor_review.json")
    assert (explained.data["outcome"], explained.data["stage"]) == ("invalid", "review")  # not closed before the review

    kept = flows.complete(explained, "supervisor_review_invalid", {"reopen": False})
    assert kept.status != "completed"  # the callback comes first, as for every complaint

    due = called_back_when_due(flows, kept)
    assert where(flows, due, "call_owner") == ("cs_agent", None, "callback_call.json")
    assert flows.task_data(due, "call_owner")["done_note"] == "已说明开裂由自行装修引起，可协助联系装修公司。"
    closed = flows.complete(due, "call_owner", {"reached": True, "satisfaction": "neutral"})

    assert (closed.status, closed.ready_tasks) == ("completed", ())
    assert (closed.data["outcome"], closed.data["stage"]) == ("invalid", "closed")
    assert (closed.data["callback_done"], closed.data["satisfaction"]) == (True, "neutral")


def test_an_invalid_complaint_whose_owner_cannot_be_reached_still_closes_as_invalid(flows):
    explained = flows.complete(judged_invalid(flows, received(flows)), "explain_to_owner",
                               {"explanation": "已说明原因。", "owner_accepts": True})
    result = called_back_when_due(flows, flows.complete(explained, "supervisor_review_invalid", {"reopen": False}))
    for _ in range(2):
        result = flows.later(flows.complete(result, "call_owner", {"reached": False}), timedelta(hours=4) + A_MINUTE)

    closed = flows.complete(result, "call_owner", {"reached": False})

    assert (closed.status, closed.data["outcome"], closed.data["stage"]) == ("completed", "invalid", "closed")


def test_owner_who_does_not_accept_the_explanation_goes_back_to_the_validity_judgement(flows):
    judged = judged_invalid(flows, received(flows))

    refused = flows.complete(judged, "explain_to_owner", {"explanation": "已说明原因。", "owner_accepts": False})

    assert ready_names(refused) == ["judge_validity"]


def test_supervisor_reopens_a_complaint_judged_invalid_and_it_is_judged_again(flows):
    explained = flows.complete(judged_invalid(flows, received(flows)), "explain_to_owner",
                               {"explanation": "已说明原因。", "owner_accepts": True})

    reopened = flows.complete(explained, "supervisor_review_invalid",
                              {"reopen": True, "review_note": "交付时墙面已有裂缝记录，应属质量问题。"})

    assert ready_names(reopened) == ["judge_validity"]
    assert (reopened.data["outcome"], reopened.data["stage"]) == (None, "validity")
    assert flows.task_data(reopened, "judge_validity")["review_note"] == "交付时墙面已有裂缝记录，应属质量问题。"
    again = judged_valid(flows, reopened)
    assert ready_names(again) == ["contact_and_investigate"]


def test_department_sends_a_misdispatched_complaint_back_and_the_agent_judges_it_again(flows):
    dispatched = judged_valid(flows, received(flows), department="sales")

    sent_back = flows.complete(dispatched, "contact_and_investigate", {
        "withdrawn": False, "send_back": True, "send_back_reason": "渗水是工程质量问题，不归营销。"})

    assert ready_names(sent_back) == ["judge_validity"]
    assert sent_back.data["stage"] == "validity"
    assert sent_back.next_timer_at is None  # the deadline watch ended with the handling
    assert flows.task_data(sent_back, "judge_validity")["send_back_reason"] == "渗水是工程质量问题，不归营销。"
    redispatched = judged_valid(flows, sent_back, department="engineering")
    assert flows.task(redispatched, "contact_and_investigate").department == "engineering"


def test_a_send_back_needs_a_reason_on_the_form(flows):
    dispatched = judged_valid(flows, received(flows))

    with pytest.raises(InvalidFormError) as refused:
        flows.complete(dispatched, "contact_and_investigate", {"withdrawn": False, "send_back": True})

    assert refused.value.errors == {"send_back_reason": REQUIRED}


def test_transfer_to_another_department_gives_it_the_investigation(flows):
    dispatched = judged_valid(flows, received(flows), department="engineering")

    transferred = flows.complete(dispatched, "contact_and_investigate", {
        "withdrawn": False, "send_back": False, "transfer_to": "property"})

    assert where(flows, transferred, "contact_and_investigate") == ("dept_owner", "property",
                                                                    "complaint_investigate.json")
    assert flows.task_data(transferred, "contact_and_investigate")["transfer_to"] is None
    kept = investigated(flows, transferred)
    assert flows.task(kept, "propose_solution").department == "property"


def in_two_days(flows):
    """A pause's planned end inside the cap (setting pause_cap_days, 3 days): no approval needed."""
    return (flows.clock.now() + timedelta(days=2)).isoformat()


def test_waiting_for_parts_stops_the_clock_and_moves_the_deadline_by_the_hours_paused(flows):
    dispatched = judged_valid(flows, received(flows))
    approved = flows.complete(flows.complete(investigated(flows, dispatched), "propose_solution",
                                             {"solution": "更换防水卷材。"}), "approve_solution", {"approved": True})

    waiting = flows.complete(approved, "implement_solution",
                             {"done_note": "卷材缺货，已订购。", "waiting_for": "parts",
                              "pause_until": in_two_days(flows)})
    assert where(flows, waiting, "resume_work") == ("dept_owner", "engineering", "complaint_resume.json")
    assert waiting.next_timer_at is None  # the handling is left while waiting: no deadline runs
    assert waiting.data["stage"] == "implementation"
    paused_at = flows.clock.now()
    assert datetime.fromisoformat(flows.task_data(waiting, "resume_work")["pause_started"]) == paused_at

    flows.clock.advance(timedelta(hours=30))
    resumed = flows.complete(waiting, "resume_work", {"resume_note": "卷材到货。"})

    assert ready_names(resumed) == ["implement_solution"]  # straight back to the work, not to the investigation
    assert stage_of(flows, resumed, "implement_solution") == "implementation"
    data = flows.task_data(resumed, "implement_solution")
    assert datetime.fromisoformat(data["due_at"]) == START + LEAK_LIMIT + timedelta(hours=30)
    assert (data["paused_hours"], data["pause_started"]) == (30, None)
    assert resumed.next_timer_at == START + LEAK_LIMIT + timedelta(hours=30)  # the timer runs on the moved deadline
    done = flows.complete(resumed, "implement_solution", {"done_note": "防水已重做。", "waiting_for": "none"})
    assert ready_names(done) == ["confirm_with_owner"]


def test_no_follow_up_while_paused_and_the_moved_deadline_is_the_one_followed_up(flows):
    approved = approved_for_work(flows, received(flows), complaint_type="safety")  # 24 hours
    flows.clock.advance(timedelta(hours=2))
    waiting = flows.complete(approved, "implement_solution", {"done_note": "电磁锁缺货。", "waiting_for": "parts",
                                                                "pause_until": in_two_days(flows)})

    still_waiting = flows.later(waiting, timedelta(hours=30))  # well past the original deadline
    assert ready_names(still_waiting) == ["resume_work"]
    resumed = flows.complete(still_waiting, "resume_work", {"resume_note": "电磁锁到货。"})
    moved = START + timedelta(hours=24 + 30)
    assert resumed.next_timer_at == moved
    assert ready_names(flows.later(resumed, moved - flows.clock.now() - A_MINUTE)) == ["implement_solution"]

    overdue = flows.later(resumed, 2 * A_MINUTE)

    assert ready_names(overdue) == ["implement_solution", "supervisor_follow_up"]
    assert datetime.fromisoformat(flows.task_data(overdue, "supervisor_follow_up")["missed_due_at"]) == moved
    assert overdue.data["escalation_level"] == 2


def test_a_deadline_missed_before_a_pause_is_followed_up_once(flows):
    approved = approved_for_work(flows, received(flows), complaint_type="safety")
    overdue = flows.later(approved, timedelta(hours=25))
    assert ready_names(overdue) == ["implement_solution", "supervisor_follow_up"]
    followed = flows.complete(overdue, "supervisor_follow_up", {"follow_up_note": "已督促工程部。"})
    waiting = flows.complete(followed, "implement_solution", {"done_note": "缺配件。", "waiting_for": "parts",
                                                                "pause_until": in_two_days(flows)})
    flows.clock.advance(timedelta(hours=4))

    resumed = flows.later(flows.complete(waiting, "resume_work", {"resume_note": "配件到货。"}), A_MINUTE)

    assert ready_names(resumed) == ["implement_solution"]  # the moved deadline is still the one already missed
    data = flows.task_data(resumed, "implement_solution")
    assert datetime.fromisoformat(data["due_at"]) == START + timedelta(hours=28)
    assert data["escalation_level"] == 2
    done = flows.complete(resumed, "implement_solution", {"done_note": "已修好。", "waiting_for": "none"})
    assert ready_names(done) == ["confirm_with_owner"]


def test_a_complaint_sent_back_after_its_deadline_is_not_followed_up_again_when_redispatched(flows):
    dispatched = judged_valid(flows, received(flows), complaint_type="safety", department="sales")
    overdue = flows.later(dispatched, timedelta(hours=25))
    followed = flows.complete(overdue, "supervisor_follow_up", {"follow_up_note": "已督促营销。"})
    sent_back = flows.complete(followed, "contact_and_investigate", {
        "withdrawn": False, "send_back": True, "send_back_reason": "不归营销。"})

    redispatched = flows.later(judged_valid(flows, sent_back, complaint_type="safety"), A_MINUTE)

    assert ready_names(redispatched) == ["contact_and_investigate"]
    assert flows.task(redispatched, "contact_and_investigate").department == "engineering"


def test_the_deadline_branch_reports_no_stale_ticket_data(flows):
    dispatched = judged_valid(flows, received(flows), complaint_type="safety", department="engineering")
    transferred = flows.complete(dispatched, "contact_and_investigate", {
        "withdrawn": False, "send_back": False, "transfer_to": "property"})

    overdue = flows.later(transferred, timedelta(hours=25))

    follow_up = flows.task_data(overdue, "supervisor_follow_up")
    assert not {"stage", "department", "due_at", "limit_hours", "outcome"} & set(follow_up)
    assert not {"stage", "department", "due_at", "outcome"} & set(overdue.data)  # what the ticket syncs from
    assert datetime.fromisoformat(follow_up["missed_due_at"]) == START + timedelta(hours=24)
    assert follow_up["escalation_level"] == 2
    followed = flows.complete(overdue, "supervisor_follow_up", {"follow_up_note": "已督促物业。"})
    assert not {"stage", "department", "due_at", "outcome"} & set(followed.data)
    assert where(flows, followed, "contact_and_investigate") == ("dept_owner", "property", "complaint_investigate.json")
    assert stage_of(flows, followed, "contact_and_investigate") == "investigation"


def test_a_follow_up_done_after_the_complaint_closed_leaves_the_outcome_alone(flows):
    approved = approved_for_work(flows, received(flows), complaint_type="safety")
    overdue = flows.later(approved, timedelta(hours=25))
    implemented = flows.complete(overdue, "implement_solution", {"done_note": "已修好。", "waiting_for": "none"})
    due = flows.later(flows.complete(implemented, "confirm_with_owner", {"owner_accepts": True}),
                      timedelta(hours=24) + A_MINUTE)
    called = flows.complete(due, "call_owner", {"reached": True, "satisfaction": "satisfied"})
    classified = flows.complete(called, "classify", {"complaint_type": "safety", "root_cause": "product_quality",
                                                     "responsible_department": "engineering", "hot_spot": "security"})
    assert (classified.status, ready_names(classified)) == ("running", ["supervisor_follow_up"])

    closed = flows.complete(classified, "supervisor_follow_up", {"follow_up_note": "已督促。"})

    assert closed.status == "completed"
    assert (closed.data["outcome"], closed.data["stage"], closed.data["department"]) == ("resolved", "closed",
                                                                                         "engineering")
    assert closed.data["escalation_level"] == 2


def test_owner_who_does_not_accept_the_result_gets_a_new_solution(flows):
    implemented = handled_until_confirmation(flows, received(flows))

    refused = flows.complete(implemented, "confirm_with_owner",
                             {"owner_accepts": False, "owner_feedback": "墙面颜色和原来不一样。"})

    assert where(flows, refused, "propose_solution") == ("dept_owner", "engineering", "complaint_solution.json")
    assert stage_of(flows, refused, "propose_solution") == "solution"
    assert flows.task_data(refused, "propose_solution")["owner_feedback"] == "墙面颜色和原来不一样。"


def test_missed_deadline_brings_in_the_supervisor_at_level_two_while_the_handling_goes_on(flows):
    dispatched = judged_valid(flows, received(flows), complaint_type="safety")  # 24 hours
    not_yet = flows.later(dispatched, timedelta(hours=23, minutes=59))
    assert ready_names(not_yet) == ["contact_and_investigate"]

    overdue = flows.later(not_yet, 2 * A_MINUTE)

    assert ready_names(overdue) == ["contact_and_investigate", "supervisor_follow_up"]
    assert where(flows, overdue, "supervisor_follow_up") == ("cs_supervisor", None, "complaint_follow_up.json")
    assert flows.task_data(overdue, "supervisor_follow_up")["escalation_level"] == 2
    assert overdue.data["escalation_level"] == 2
    assert overdue.next_timer_at is None
    going_on = investigated(flows, overdue)
    assert ready_names(going_on) == ["propose_solution", "supervisor_follow_up"]
    followed = flows.complete(going_on, "supervisor_follow_up", {"follow_up_note": "已电话督促工程部当天上门。"})
    assert ready_names(followed) == ["propose_solution"]


def test_complaint_handled_after_its_deadline_closes_at_escalation_level_two(flows):
    dispatched = judged_valid(flows, received(flows), complaint_type="safety")
    overdue = flows.later(dispatched, timedelta(hours=25))
    followed = flows.complete(overdue, "supervisor_follow_up", {"follow_up_note": "已督促。"})
    implemented = flows.complete(flows.complete(flows.complete(investigated(flows, followed), "propose_solution",
                                                               {"solution": "加装护栏。"}),
                                                "approve_solution", {"approved": True}),
                                 "implement_solution", {"done_note": "护栏已装。", "waiting_for": "none"})
    due = flows.later(flows.complete(implemented, "confirm_with_owner", {"owner_accepts": True}),
                      timedelta(hours=24) + A_MINUTE)
    called = flows.complete(due, "call_owner", {"reached": True, "satisfaction": "neutral"})

    closed = flows.complete(called, "classify", {"complaint_type": "safety", "root_cause": "property_management",
                                                 "responsible_department": "property", "hot_spot": "security"})

    assert closed.status == "completed"
    assert (closed.data["outcome"], closed.data["escalation_level"]) == ("resolved", 2)


def test_dissatisfied_owner_at_the_callback_reopens_the_complaint(flows):
    implemented = handled_until_confirmation(flows, received(flows))
    due = flows.later(flows.complete(implemented, "confirm_with_owner", {"owner_accepts": True}),
                      timedelta(hours=24) + A_MINUTE)
    called = flows.complete(due, "call_owner", {"reached": True, "satisfaction": "dissatisfied",
                                                "remarks": "还是渗水。"})

    closed = flows.complete(called, "classify", {"complaint_type": "leak_crack", "root_cause": "product_quality",
                                                 "responsible_department": "engineering", "hot_spot": "leak_crack"})

    assert closed.status == "completed"
    assert (closed.data["reopen_as_complaint"], closed.data["satisfaction"]) == (True, "dissatisfied")


def test_owner_unreachable_at_the_callback_closes_the_complaint_as_unreachable(flows):
    implemented = handled_until_confirmation(flows, received(flows))
    result = flows.later(flows.complete(implemented, "confirm_with_owner", {"owner_accepts": True}),
                         timedelta(hours=24) + A_MINUTE)
    for _ in range(2):
        result = flows.later(flows.complete(result, "call_owner", {"reached": False}), timedelta(hours=4) + A_MINUTE)
    given_up = flows.complete(result, "call_owner", {"reached": False})

    closed = flows.complete(given_up, "classify", {"complaint_type": "leak_crack", "root_cause": "product_quality",
                                                   "responsible_department": "engineering", "hot_spot": "leak_crack"})

    assert (closed.data["outcome"], closed.data["stage"]) == ("unreachable", "closed")


def test_owner_withdraws_at_the_validity_judgement_and_there_is_no_callback(flows):
    withdrawn = flows.complete(received(flows), "judge_validity", {
        "withdrawn": True, "valid": False, "judgement_note": "业主表示已自行解决，撤销投诉。"})

    assert (withdrawn.status, withdrawn.ready_tasks) == ("completed", ())
    assert (withdrawn.data["outcome"], withdrawn.data["stage"]) == ("withdrawn", "closed")
    assert "callback_done" not in withdrawn.data


def test_owner_withdraws_during_the_investigation_and_there_is_no_callback(flows):
    dispatched = judged_valid(flows, received(flows))

    withdrawn = flows.complete(dispatched, "contact_and_investigate", {"withdrawn": True, "send_back": False})

    assert (withdrawn.status, withdrawn.ready_tasks) == ("completed", ())
    assert (withdrawn.data["outcome"], withdrawn.data["stage"]) == ("withdrawn", "closed")
    assert "callback_done" not in withdrawn.data
    assert withdrawn.next_timer_at is None


def test_an_agent_unsure_about_validity_hands_the_judgment_to_the_cs_supervisor(flows):
    asked = flows.complete(received(flows), "judge_validity", {
        "withdrawn": False, "ask_supervisor": True, "judgement_note": "业主说交付时已开裂，但没有记录。"})

    assert where(flows, asked, "supervisor_judge_validity") == ("cs_supervisor", None, "complaint_judge.json")
    assert flows.task_data(asked, "supervisor_judge_validity")["ask_supervisor"] is False
    judged = judged_valid(flows, asked, element_id="supervisor_judge_validity")
    assert where(flows, judged, "contact_and_investigate") == ("dept_owner", "engineering",
                                                               "complaint_investigate.json")
    assert judged.data["limit_hours"] == 168


def test_a_supervisor_who_judges_invalid_sends_it_to_the_explanation_and_the_agent_judges_again_alone(flows):
    asked = flows.complete(received(flows), "judge_validity", {
        "withdrawn": False, "ask_supervisor": True, "judgement_note": "拿不准。"})
    invalid = flows.complete(asked, "supervisor_judge_validity", {
        "withdrawn": False, "valid": False, "judgement_note": "自行装修所致。"})
    assert ready_names(invalid) == ["explain_to_owner"]
    refused = flows.complete(invalid, "explain_to_owner", {"explanation": "已说明原因。", "owner_accepts": False})

    again = judged_valid(flows, refused)

    assert ready_names(again) == ["contact_and_investigate"]  # not handed to the supervisor a second time


def test_asking_the_supervisor_needs_a_reason_and_a_judgment_needs_valid(flows):
    started = received(flows)

    with pytest.raises(InvalidFormError) as no_reason:
        flows.complete(started, "judge_validity", {"withdrawn": False, "ask_supervisor": True})
    with pytest.raises(InvalidFormError) as no_answer:
        flows.complete(started, "judge_validity", {"withdrawn": False, "ask_supervisor": False})

    assert no_reason.value.errors == {"judgement_note": REQUIRED}
    assert no_answer.value.errors == {"valid": REQUIRED}


def test_a_night_emergency_complaint_is_judged_and_dispatched_by_night_security_at_once(flows):
    started = received(flows, emergency=True, shift="night", night_emergency=True)
    assert where(flows, started, "judge_validity_night") == ("night_security", None, "complaint_judge.json")

    dispatched = judged_valid(flows, started, department="property", complaint_type="property_service",
                              element_id="judge_validity_night")

    assert where(flows, dispatched, "contact_and_investigate") == ("dept_owner", "property",
                                                                   "complaint_investigate.json")
    assert dispatched.data["limit_hours"] == 24  # an emergency: 24 hours whatever the type
    sent_back = flows.complete(dispatched, "contact_and_investigate", {
        "withdrawn": False, "send_back": True, "send_back_reason": "不归物业。"})
    assert ready_names(sent_back) == ["judge_validity"]  # judged again by the day agents, not the night


def test_a_night_call_that_is_no_emergency_is_judged_by_the_day_agents(flows):
    started = received(flows, emergency=False, shift="night", night_emergency=False)

    assert where(flows, started, "judge_validity") == ("cs_agent", None, "complaint_judge.json")


def test_a_service_attitude_complaint_is_handled_by_the_cs_supervisor_and_confirmed_with_the_owner(flows):
    dispatched = judged_valid(flows, received(flows), department="property", complaint_type="property_service")
    found = investigated(flows, dispatched, responsibility="service_attitude", cause="保安对业主态度恶劣。")

    assert where(flows, found, "supervisor_handles") == ("cs_supervisor", None, "complaint_supervisor_handle.json")
    assert stage_of(flows, found, "supervisor_handles") == "solution"
    handled = flows.complete(found, "supervisor_handles", {"solution": "约谈当班保安，书面道歉。",
                                                           "done_note": "已约谈，已登门致歉。"})
    assert where(flows, handled, "confirm_with_owner") == ("cs_agent", None, "complaint_owner_confirm.json")
    refused = flows.complete(handled, "confirm_with_owner", {"owner_accepts": False, "owner_feedback": "要求换人。"})
    assert ready_names(refused) == ["supervisor_handles"]  # back to the supervisor, not to a department
    assert flows.task_data(refused, "supervisor_handles")["owner_feedback"] == "要求换人。"
    again = flows.complete(refused, "supervisor_handles", {"solution": "调岗。", "done_note": "已调岗。"})
    accepted = flows.complete(again, "confirm_with_owner", {"owner_accepts": True})
    assert accepted.data["stage"] == "callback"


def test_a_sales_responsibility_goes_to_the_sales_port_and_its_head_approves(flows):
    dispatched = judged_valid(flows, received(flows), department="engineering", complaint_type="quality")
    found = investigated(flows, dispatched, responsibility="sales", cause="销售承诺的赠送面积与合同不符。")

    assert where(flows, found, "propose_solution") == ("dept_owner", "sales", "complaint_solution.json")
    proposed = flows.complete(found, "propose_solution", {"solution": "按合同解释并补偿。"})
    assert where(flows, proposed, "approve_solution") == ("dept_head", "sales", "complaint_approve.json")


def test_a_pause_longer_than_the_cap_waits_for_the_cs_supervisor_and_ends_when_planned(flows):
    approved = approved_for_work(flows, received(flows))
    back_by = flows.clock.now() + timedelta(days=5)  # longer than pause_cap_days (3)
    asked = {"done_note": "卷材停产，等厂家补货。", "waiting_for": "parts", "pause_until": back_by.isoformat()}
    waiting = flows.complete(approved, "implement_solution", asked)

    approval = flows.task(waiting, "approve_pause")
    assert (approval.lane, approval.form_key, ready_names(waiting)) == (
        "cs_supervisor", "complaint_pause_approval.json", ["approve_pause"])
    assert approval.due_at == flows.clock.now() + timedelta(hours=4)  # 4 office hours, Monday 09:00 -> 13:00
    allowed = flows.complete(waiting, "approve_pause", {"pause_approved": True, "pause_review_note": "同意等待。"})

    assert flows.task(allowed, "resume_work").due_at == back_by  # the pause has an end: its planned one


def test_a_refused_long_pause_sends_the_work_straight_back(flows):
    approved = approved_for_work(flows, received(flows))
    waiting = flows.complete(approved, "implement_solution", {"done_note": "等业主出国回来。", "waiting_for": "owner",
                                                              "pause_until": (START + timedelta(days=10)).isoformat()})
    flows.clock.advance(timedelta(hours=2))

    refused = flows.complete(waiting, "approve_pause", {"pause_approved": False,
                                                        "pause_review_note": "可委托家属，不同意暂停。"})

    assert ready_names(refused) == ["implement_solution"]
    assert refused.data["pause_state"] == "resumed"
    assert datetime.fromisoformat(flows.task_data(refused, "implement_solution")["due_at"]) == \
        START + LEAK_LIMIT + timedelta(hours=2)  # the time spent asking does not count against the department


def test_a_pause_needs_a_planned_end(flows):
    approved = approved_for_work(flows, received(flows))

    with pytest.raises(InvalidFormError) as refused:
        flows.complete(approved, "implement_solution", {"done_note": "等配件。", "waiting_for": "parts"})

    assert refused.value.errors == {"pause_until": REQUIRED}
