"""The complaint rules of the seeds (issue 11), through the JSON API as the people who do each step.

Time limits by type, severity and emergency; service-attitude complaints to the CS supervisor and
sales to the sales port and its head; an agent who is unsure hands the judgment to the CS supervisor;
an invalid complaint is called back too; an emergency complaint at night goes to night security.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.scenarios.conftest import (
    CLASSIFIED,
    INVALID,
    INVESTIGATED,
    NIGHT,
    OWNER_PHONE,
    SATISFIED,
    START,
    VALID_LEAK,
    call_back,
    holder,
)


def complaint(desk, by=None, **changes):
    """A complaint call about a leak (unless ``changes`` say otherwise)."""
    return desk.open(by, **{"category": "complaint", "complaint_type": "leak_crack", "part": None,
                            "description": "卫生间墙面渗水，墙皮起鼓。", **changes})


def judged(**changes):
    return {**VALID_LEAK, **changes}


@pytest.mark.parametrize(("judgement", "emergency", "limit"), [
    ({"complaint_type": "leak_crack", "severity": "normal"}, False, timedelta(days=7)),
    ({"complaint_type": "leak_crack", "severity": "serious"}, False, timedelta(days=3)),
    ({"complaint_type": "leak_crack", "severity": "normal"}, True, timedelta(hours=24)),
    ({"complaint_type": "property_service", "severity": "serious", "responsible_department": "property"}, False,
     timedelta(hours=24)),
    # 3 working days from Monday 09:00 end on Wednesday at 18:00 (office hours 09:00-18:00)
    ({"complaint_type": "sales", "severity": "serious", "responsible_department": "sales"}, False,
     timedelta(days=2, hours=9)),
])
def test_the_deadline_on_the_ticket_follows_type_severity_and_emergency(desk, staff, judgement, emergency, limit):
    ticket = complaint(desk, emergency=emergency)

    desk.handle(staff.agent, ticket, "judge_validity", judged(**judgement))

    assert desk.ticket(ticket)["due_at"] == (START + limit).isoformat()


def test_a_service_attitude_complaint_is_handled_by_the_cs_supervisor(desk, staff):
    ticket = complaint(desk, complaint_type="property_service", description="保安说话难听，态度恶劣。")
    desk.handle(staff.agent, ticket, "judge_validity",
                judged(complaint_type="property_service", responsible_department="property"))
    desk.handle(staff.prop_owner, ticket, "contact_and_investigate",
                {**INVESTIGATED, "cause": "当班保安态度恶劣。", "responsibility": "service_attitude"})

    handle = desk.handle(staff.supervisor, ticket, "supervisor_handles",
                         {"solution": "约谈当班保安，书面致歉。", "done_note": "已约谈，已登门致歉。"},
                         not_by=[staff.prop_owner, staff.head, staff.agent])
    assert holder(handle) == ("cs_supervisor", None, None)
    assert handle["due_at"] == (START + timedelta(hours=72)).isoformat()  # the complaint's limit still runs
    assert desk.ticket(ticket)["stage"] == "owner_confirmation"
    desk.handle(staff.agent, ticket, "confirm_with_owner", {"owner_accepts": True})
    call_back(desk, ticket, SATISFIED)
    desk.handle(staff.supervisor, ticket, "classify", {**CLASSIFIED, "complaint_type": "property_service",
                                                        "root_cause": "service_attitude",
                                                        "responsible_department": "property"})

    closed = desk.ticket(ticket)
    assert (closed["stage"], closed["outcome"], closed["department"]) == ("closed", "resolved", "property")


def test_a_complaint_found_to_be_about_sales_goes_to_the_sales_port_and_its_head(desk, staff, api_as):
    sales_owner = api_as("sales_owner", "dept_owner", departments=("sales",))
    sales_head = api_as("sales_head", "dept_head", departments=("sales",))
    ticket = complaint(desk, complaint_type="quality", description="赠送的露台面积比宣传的小。")
    desk.handle(staff.agent, ticket, "judge_validity", judged(complaint_type="quality"))
    desk.handle(staff.eng_owner, ticket, "contact_and_investigate",
                {**INVESTIGATED, "cause": "销售宣传与合同不符。", "responsibility": "sales"})
    assert desk.ticket(ticket)["department"] == "sales"

    propose = desk.handle(sales_owner, ticket, "propose_solution", {"solution": "按合同说明并补偿物业费。"},
                          not_by=[staff.eng_owner])
    assert holder(propose) == ("dept_owner", "sales", None)
    approve = desk.handle(sales_head, ticket, "approve_solution", {"approved": True},
                          not_by=[staff.head])  # the engineering and property head is not the sales head
    assert holder(approve) == ("dept_head", "sales", None)
    assert desk.task_for(sales_owner, ticket, "implement_solution")["department"] == "sales"


def test_an_agent_unsure_about_validity_hands_the_judgment_to_the_cs_supervisor(desk, staff):
    ticket = complaint(desk)
    refused = staff.agent.complete(desk.task_for(staff.agent, ticket, "judge_validity")["id"],
                                   {"withdrawn": False, "ask_supervisor": True})
    assert (refused.status_code, refused.json["errors"]) == (422, {"judgement_note": "必填"})
    desk.handle(staff.agent, ticket, "judge_validity",
                {"withdrawn": False, "ask_supervisor": True, "judgement_note": "业主说交付时就有裂缝，查不到记录。"})
    assert desk.ticket(ticket)["stage"] == "validity"

    task = desk.task_for(staff.supervisor, ticket, "supervisor_judge_validity")
    assert holder(task) == ("cs_supervisor", None, None)
    assert desk.task_data(staff.supervisor, task)["judgement_note"] == "业主说交付时就有裂缝，查不到记录。"
    desk.handle(staff.supervisor, ticket, "supervisor_judge_validity", VALID_LEAK, not_by=[staff.agent, staff.night])

    dispatched = desk.ticket(ticket)
    assert (dispatched["stage"], dispatched["department"]) == ("investigation", "engineering")
    assert holder(desk.task_for(staff.eng_owner, ticket, "contact_and_investigate")) == (
        "dept_owner", "engineering", None)


def test_an_invalid_complaint_is_called_back_and_a_dissatisfied_owner_gets_a_new_linked_complaint(desk, staff):
    ticket = complaint(desk, description="楼下邻居装修太吵，要求物业赔偿。")
    desk.handle(staff.agent, ticket, "judge_validity", INVALID)
    desk.handle(staff.agent, ticket, "explain_to_owner",
                {"explanation": "已说明装修时段符合规定。", "owner_accepts": True})
    desk.handle(staff.supervisor, ticket, "supervisor_review_invalid", {"reopen": False})
    assert desk.status(ticket) != "completed"

    call_back(desk, ticket, {"reached": True, "satisfaction": "dissatisfied", "remarks": "还是很吵。"})

    closed = desk.ticket(ticket)
    assert (closed["outcome"], closed["satisfaction"], closed["reopened"]) == ("invalid", "dissatisfied", True)
    [reopened] = [item for item in staff.agent.get("/tickets/duplicates", query_string={
        "project": "lanting", "unit": closed["unit"], "category": "complaint"}).json["items"]
        if item["number"] != ticket.number]
    assert (reopened["escalation_level"], reopened["phone"]) == (2, OWNER_PHONE)
    assert ticket.number in reopened["description"]


def test_an_emergency_complaint_at_night_is_judged_by_night_security_and_dispatched_at_once(desk, staff):
    desk.clock.set(NIGHT)  # Monday 22:00 in Shanghai: no agent on the desk
    ticket = complaint(desk, by=staff.night, emergency=True, complaint_type="safety",
                       description="地库入口护栏倒了，有人差点摔下去。")

    judge = desk.handle(staff.night, ticket, "judge_validity_night",
                        judged(complaint_type="safety", severity="serious", responsible_department="property"),
                        not_by=[staff.agent])
    assert holder(judge) == ("night_security", None, None)

    dispatched = desk.ticket(ticket)
    assert (dispatched["stage"], dispatched["department"]) == ("investigation", "property")
    assert dispatched["due_at"] == (NIGHT + timedelta(hours=24)).isoformat()
    assert holder(desk.task_for(staff.prop_owner, ticket, "contact_and_investigate")) == (
        "dept_owner", "property", None)


def test_a_complaint_at_night_that_is_no_emergency_waits_for_the_day_agents(desk, staff):
    desk.clock.set(NIGHT)
    ticket = complaint(desk, by=staff.night, emergency=False)
    assert "judge_validity_night" not in desk.open_task_names(ticket)

    assert desk.wait_until_due(ticket) == ["morning_handover"]  # held for the 08:00 shift by reception
    desk.handle(staff.agent, ticket, "morning_handover", {"record_confirmed": True})

    assert holder(desk.task_for(staff.agent, ticket, "judge_validity")) == ("cs_agent", None, None)
