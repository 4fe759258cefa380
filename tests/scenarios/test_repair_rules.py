"""The repair rules of the seeds, through the JSON API as the role users (issue 11, item 5).

Warranty by part (the design life for the main structure, heating seasons for heating), unregistered
places as common parts, a missing handover date flagged for the admin, the work-order fields h, i and
w of seed 002, fees that add up to the accepted quote, appointments in the future and in working
hours, and repeat repairs that count only finished repairs.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.calendar import CalendarOverride
from app.models.jobs import OutboxMessage
from app.services.people.organisation import create_unit
from tests.console_client import Browser
from tests.scenarios.conftest import (
    ACCEPTED,
    APPOINTMENT,
    CONFIRMED,
    HANDED_OVER_6_YEARS_AGO,
    INSPECTION,
    OWNER_PHONE,
    REPAIR_DONE,
    REVIEWED,
    call_back,
    holder,
)

CAR_PARK = "2号地库"  # not a registered unit
LOBBY_WITHOUT_DATE = "3栋大堂"  # a registered common area whose handover date nobody entered
PROPERTY_TECH = "prop_tech"
OWNER_PAYS_QUOTE = {**INSPECTION, "quote_labour": 200.0, "quote_material": 150.5}  # 350.50 in all


@pytest.fixture
def prop_tech(api_as):
    return api_as(PROPERTY_TECH, "technician", departments=("property",))


@pytest.fixture
def admin(api_as):
    return api_as("site_admin", "admin")


def dispatch_to_property(desk, ticket, prop_tech):
    desk.handle(desk.staff.prop_super, ticket, "dispatch_technician", {"technician": PROPERTY_TECH})


def decision(desk, user, ticket, element_id="dispatch_technician"):
    order = desk.task_data(user, desk.task_for(user, ticket, element_id))
    return order["in_warranty"], order["department"], order["paid_by"]


# ---- item 1: the generic start ----------------------------------------------------------------------------

def test_a_repair_started_through_the_generic_start_reaches_dispatch_instead_of_failing(desk, staff):
    response = staff.agent.post("/processes/reception/instances", json={"data": {
        "project": "lanting", "unit": CAR_PARK, "caller_name": "保安队长", "phone": OWNER_PHONE,
        "channel": "hotline", "category": "repair", "part": "plumbing", "description": "地库排水管爆裂。",
        "urgency": "urgent", "emergency": False}})

    assert response.status_code == 201, response.json
    instance = staff.supervisor.get(f"/instances/{response.json['id']}").json
    assert instance["status"] == "running", instance.get("error")
    assert [task["name"] for task in instance["tasks"]] == ["dispatch_technician"]


# ---- item 2: warranty -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("part", "handover", "expected"), [
    ("structure", date(1996, 4, 1), (True, "engineering", "free")),  # 30 years: inside the 50-year design life
    ("structure", date(1975, 4, 1), (False, "property", "owner")),
    ("heating_cooling", date(2023, 12, 1), (True, "engineering", "free")),  # 2¼ years, one whole season
    ("heating_cooling", date(2023, 11, 1), (False, "property", "owner")),  # two whole seasons ended
])
def test_the_main_structure_lasts_its_design_life_and_heating_counts_heating_seasons(desk, staff, part, handover,
                                                                                     expected):
    create_unit("lanting", "9栋-0101", owner_name="赵先生", owner_phone="13700000000", handover_date=handover)

    ticket = desk.open(unit="9栋-0101", part=part, description="墙体开裂。" if part == "structure" else "暖气不热。")

    dispatcher = staff.eng_super if expected[1] == "engineering" else staff.prop_super
    assert decision(desk, dispatcher, ticket) == expected
    assert desk.ticket(ticket)["department"] == expected[1]


def test_a_place_that_is_no_registered_unit_is_a_common_part_and_the_admin_is_asked_for_its_handover_date(
        desk, staff, admin):
    ticket = desk.open(unit=CAR_PARK, part="plumbing", caller_name="保安队长", description="地库排水管漏水。")

    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    order = desk.task_data(staff.prop_super, dispatch)
    assert (order["common_area"], order["warranty_unknown"]) == (True, True)
    assert (order["in_warranty"], order["paid_by"]) == (False, "property")  # not the owner's bill
    instructions = staff.prop_super.get(f"/tasks/{dispatch['id']}").json["instructions"]
    assert "无交付日期" in instructions and "已通知管理员" in instructions

    notices = admin.get("/notifications").json
    assert notices["unread"] == 1
    notice = notices["items"][0]
    assert (notice["kind"], notice["params"]["number"], notice["link"]) == (
        "warranty_unknown", ticket.number, f"/tickets/{ticket.number}")
    assert CAR_PARK in notice["body"] and ticket.number in notice["body"]
    assert staff.agent.get("/notifications").json["unread"] == 0  # the admin's business, not the desk's

    desk.handle(staff.prop_super, ticket, "dispatch_technician", {"technician": "tech"})
    assert admin.get("/notifications").json["unread"] == 1  # told once per ticket, not at every step


def test_a_registered_common_area_without_a_handover_date_is_flagged_too(desk, staff, admin):
    create_unit("lanting", LOBBY_WITHOUT_DATE, is_common_area=True)

    ticket = desk.open(unit=LOBBY_WITHOUT_DATE, part="decoration", description="大堂吊顶脱落。")

    assert decision(desk, staff.prop_super, ticket) == (False, "property", "property")
    assert [item["kind"] for item in admin.get("/notifications").json["items"]] == ["warranty_unknown"]


def test_a_unit_with_its_handover_date_raises_no_flag(desk, staff, admin):
    ticket = desk.open()  # 3栋-1202, handed over two years ago

    assert desk.task_data(staff.eng_super, desk.task_for(staff.eng_super, ticket, "dispatch_technician"))[
        "warranty_unknown"] is False
    assert admin.get("/notifications").json["items"] == []


# ---- item 4: fields h, i, w and fees that add up to the quote ----------------------------------------------

def owner_paid_until_consent(desk, staff, prop_tech):
    ticket = desk.open(unit=HANDED_OVER_6_YEARS_AGO, part="plumbing", caller_name="李女士")  # plumbing: 2 years
    dispatch_to_property(desk, ticket, prop_tech)
    desk.handle(prop_tech, ticket, "agree_appointment",
                {**APPOINTMENT, "desired_completion_at": "2026-03-05T18:00:00+08:00"})
    return ticket


def test_an_owner_paid_inspection_needs_a_quote_and_the_consent_shows_its_total(desk, staff, prop_tech):
    ticket = owner_paid_until_consent(desk, staff, prop_tech)
    visit = desk.task_for(prop_tech, ticket, "inspect_on_site")
    unquoted = {key: value for key, value in INSPECTION.items() if not key.startswith("quote_")}

    refused = prop_tech.complete(visit["id"], unquoted)

    assert refused.status_code == 422
    assert refused.json["errors"] == {"quote_labour": "业主付费时必填",
                                      "quote_material": "业主付费时必填"}
    desk.handle(prop_tech, ticket, "inspect_on_site", OWNER_PAYS_QUOTE)
    consent = desk.task_for(prop_tech, ticket, "owner_consents")
    assert "合计 ¥350.50" in prop_tech.get(f"/tasks/{consent['id']}").json["instructions"]
    no_method = prop_tech.complete(consent["id"], {"owner_agrees": True})
    assert (no_method.status_code, no_method.json["errors"]) == (422, {"payment_method": "必填"})


def test_the_repair_fees_start_from_the_accepted_quote_and_must_add_up_to_it(desk, staff, prop_tech):
    ticket = owner_paid_until_consent(desk, staff, prop_tech)
    desk.handle(prop_tech, ticket, "inspect_on_site", OWNER_PAYS_QUOTE)
    desk.handle(prop_tech, ticket, "owner_consents", {"owner_agrees": True, "payment_method": "mobile"})
    repair = desk.task_for(prop_tech, ticket, "carry_out_repair")
    work = desk.task_data(prop_tech, repair)
    assert (work["fee_labour"], work["fee_material"]) == (200.0, 150.5)  # filled in from the quote
    assert (work["payment_method"], work["desired_completion_at"]) == ("mobile", "2026-03-05T18:00:00+08:00")

    short = prop_tech.complete(repair["id"], {**REPAIR_DONE, "fee_labour": 180.0, "fee_material": 150.5})

    assert short.status_code == 422
    assert short.json["errors"] == {
        name: "合计为 330.50，与已接受的报价 350.50 不符"
        for name in ("fee_labour", "fee_material")}
    assert desk.open_task_names(ticket) == ["carry_out_repair"]  # nothing moved on
    desk.handle(prop_tech, ticket, "carry_out_repair", {
        **REPAIR_DONE, "fee_labour": 250.0, "fee_material": 100.5, "owner_paid_amount": 350.5,
        "work_order_note": "业主要求保留旧阀门。"})
    assert desk.open_task_names(ticket) == ["owner_acceptance"]


def test_fees_left_out_keep_the_quote_and_a_free_repair_splits_its_fees_freely(desk, staff, prop_tech):
    ticket = owner_paid_until_consent(desk, staff, prop_tech)
    desk.handle(prop_tech, ticket, "inspect_on_site", OWNER_PAYS_QUOTE)
    desk.handle(prop_tech, ticket, "owner_consents", {"owner_agrees": True, "payment_method": "cash"})
    without_fees = {key: value for key, value in REPAIR_DONE.items() if not key.startswith("fee_")}
    desk.handle(prop_tech, ticket, "carry_out_repair", without_fees)
    acceptance = desk.task_data(prop_tech, desk.task_for(prop_tech, ticket, "owner_acceptance"))
    assert (acceptance["fee_labour"], acceptance["fee_material"]) == (200.0, 150.5)

    free = desk.open()  # inside the warranty: no quote the owner accepted
    desk.handle(staff.eng_super, free, "dispatch_technician", {"technician": "tech"})
    desk.handle(staff.tech, free, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, free, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, free, "carry_out_repair", {**REPAIR_DONE, "fee_labour": 90.0, "fee_material": 10.0})
    assert desk.open_task_names(free) == ["owner_acceptance"]


def test_the_work_order_fields_h_i_and_w_are_on_the_ticket_page(app, desk, staff, prop_tech):
    ticket = owner_paid_until_consent(desk, staff, prop_tech)
    desk.handle(prop_tech, ticket, "inspect_on_site", OWNER_PAYS_QUOTE)
    desk.handle(prop_tech, ticket, "owner_consents", {"owner_agrees": True, "payment_method": "fee_bill"})
    desk.handle(prop_tech, ticket, "carry_out_repair", {**REPAIR_DONE, "work_order_note": "业主要求保留旧阀门。"})
    browser = Browser(app.test_client())
    assert browser.log_in("agent").status_code == 302

    page = browser.get(f"/tickets/{ticket.number}").get_data(as_text=True)

    for shown in ("希望完成时间", "2026-03-05 18:00", "支付方式", "计入物业费账单", "备注", "业主要求保留旧阀门。"):
        assert shown in page, shown
    review = desk.task_data(prop_tech, desk.task_for(prop_tech, ticket, "owner_acceptance"))
    assert (review["payment_method"], review["work_order_note"]) == ("fee_bill", "业主要求保留旧阀门。")


# ---- item 5: appointments -------------------------------------------------------------------------------

def texts_to(phone):
    db.session.remove()
    return [message.body for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id))]


@pytest.mark.parametrize(("moment", "message"), [
    ("2026-03-01T10:00:00+08:00", "不能早于现在（2026-03-02 09:00）"),
    ("2026-03-02T08:59:00+08:00", "不能早于现在（2026-03-02 09:00）"),
    ("2026-03-03T20:00:00+08:00", None),  # Tuesday evening
    ("2026-03-07T10:00:00+08:00", None),  # Saturday
])
def test_an_appointment_in_the_past_or_outside_working_hours_is_refused_on_the_field(desk, staff, moment, message):
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", {"technician": "tech"})
    task = desk.task_for(staff.tech, ticket, "agree_appointment")
    texts_before = texts_to(OWNER_PHONE)

    refused = staff.tech.complete(task["id"], {"appointment_at": moment})

    assert refused.status_code == 422
    error = refused.json["errors"]["appointment_at"]
    if message:
        assert error == message
    else:
        assert error.startswith("不在工作时间内（工作日 09:00-18:00）；"
                                "如仍要保留此时间，请在“非工作时间上门”中选择“是”")
    assert list(refused.json["errors"]) == ["appointment_at"]
    assert texts_to(OWNER_PHONE) == texts_before  # the owner is not texted a refused appointment
    assert desk.open_task_names(ticket) == ["agree_appointment"]


def test_a_holiday_entered_on_another_node_makes_that_days_appointment_out_of_hours(desk, staff, clock):
    """Each request's sign-in query tells this process's working calendar whether it is fresh; an override another
    node wrote (nothing in this process is told) is in force from the next request on."""
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", {"technician": "tech"})
    task = desk.task_for(staff.tech, ticket, "agree_appointment")
    saturday = staff.tech.complete(task["id"], {"appointment_at": "2026-03-07T10:00:00+08:00"})
    assert list(saturday.json["errors"]) == ["appointment_at"]  # the calendar is read and kept in this process

    db.session.add(CalendarOverride(day=date(2026, 3, 3), kind="holiday", name="临时停工", created_at=clock.now()))
    db.session.commit()

    tuesday = staff.tech.complete(task["id"], {"appointment_at": "2026-03-03T10:00:00+08:00"})
    assert tuesday.status_code == 422, tuesday.json
    assert tuesday.json["errors"]["appointment_at"].startswith("不在工作时间内")
    assert desk.open_task_names(ticket) == ["agree_appointment"]


def test_an_out_of_hours_appointment_the_owner_asked_for_is_kept_when_confirmed(desk, staff):
    ticket = desk.open()
    desk.handle(staff.eng_super, ticket, "dispatch_technician", {"technician": "tech"})

    desk.handle(staff.tech, ticket, "agree_appointment",
                {"appointment_at": "2026-03-07T10:00:00+08:00", "appointment_out_of_hours": True})

    assert desk.ticket(ticket)["stage"] == "inspection"
    visit = desk.task_for(staff.tech, ticket, "inspect_on_site")
    late = staff.tech.complete(visit["id"], {"reschedule": True, "owner_withdraws": False,
                                             "waiting_for_parts": False, "appointment_at": "2026-03-02T08:00:00+08:00"})
    assert (late.status_code, list(late.json["errors"])) == (422, ["appointment_at"])  # a reschedule too
    assert holder(visit) == ("technician", None, "tech")


# ---- item 6: repeat repairs -------------------------------------------------------------------------------

def test_a_repeat_repair_counts_only_a_finished_repair_not_a_cancelled_or_withdrawn_one(desk, staff, prop_tech):
    cancelled = owner_paid_until_consent(desk, staff, prop_tech)
    desk.handle(prop_tech, cancelled, "inspect_on_site", OWNER_PAYS_QUOTE)
    desk.handle(prop_tech, cancelled, "owner_consents", {"owner_agrees": False, "refusal_reason": "太贵了。"})
    withdrawn = desk.open(part="electrical", description="插座没电。")
    desk.handle(staff.eng_super, withdrawn, "dispatch_technician", {"technician": "tech"})
    desk.handle(staff.tech, withdrawn, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, withdrawn, "inspect_on_site", {"reschedule": False, "owner_withdraws": True,
                                                            "waiting_for_parts": False,
                                                            "withdrawal_reason": "业主自己修好了。"})
    finished = desk.open(part="roof_waterproof")
    desk.handle(staff.eng_super, finished, "dispatch_technician", {"technician": "tech"})
    desk.handle(staff.tech, finished, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, finished, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, finished, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, finished, "owner_acceptance", ACCEPTED)
    desk.handle(staff.eng_super, finished, "confirm_repair", CONFIRMED)
    call_back(desk, finished)
    desk.handle(staff.manager, finished, "manager_review", REVIEWED)
    assert [desk.ticket(t)["outcome"] for t in (cancelled, withdrawn, finished)] == [
        "cancelled", "withdrawn", "resolved"]
    desk.clock.advance(timedelta(days=10))

    again_plumbing = desk.open(unit=HANDED_OVER_6_YEARS_AGO, part="plumbing", caller_name="李女士")
    again_electrical = desk.open(part="electrical", description="插座又没电了。")
    again_roof = desk.open(part="roof_waterproof", description="又渗水了。")

    assert [desk.ticket(t)["repeat_repair"] for t in (again_plumbing, cancelled)] == [False, False]
    assert [desk.ticket(t)["repeat_repair"] for t in (again_electrical, withdrawn)] == [False, False]
    assert [desk.ticket(t)["repeat_repair"] for t in (again_roof, finished)] == [True, True]
