"""Notices to owners (通知): a department owner drafts one, the CS supervisor approves it on the task page (here the
JSON API), and it goes out on the three channels of seed 000 — texts to the owners of the units it addresses,
a letterbox PDF with one page per unit, a notice-board sheet — and on the owners' pages during its window.
Staff see the units it did not reach and act on them."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db, limiter
from app.models import Unit, User
from app.models.jobs import OutboxMessage
from app.models.notices import Notice
from app.services.jobs.notifications import UndeliverableError, deliver_outbox
from app.services.people.organisation import create_unit, limit_user_to_projects
from tests.console_client import Browser
from tests.scenarios.conftest import (
    HANDED_OVER_2_YEARS_AGO,
    OWNER_PHONE,
    Desk,
    run_timer_worker,
)
from tests.web.owner_pages import code_texted_to

NO_MOBILE_UNIT = "3栋-0801"
LANDLINE_UNIT = "3栋-0502"
WATER_CUT = {"notice_kind": "water_power_cut", "notice_title": "3栋停水通知",
             "notice_text": "因二次供水水箱清洗，3栋将暂停供水，请提前储水。", "project": "lanting",
             "buildings": "3栋", "units": "", "starts_at": "2026-03-05T09:00", "ends_at": "2026-03-05T17:00",
             "staff_audience": "cs_team"}


@pytest.fixture
def building_3(desk: Desk) -> None:
    """Building 3 of lanting: the owner's unit (a mobile), one without a number, one with a landline only."""
    create_unit("lanting", NO_MOBILE_UNIT, owner_name="赵先生")
    create_unit("lanting", LANDLINE_UNIT, owner_name="钱女士", owner_phone="0571-88886666")


def console(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def draft(app: Flask, username: str = "prop_owner", **changes: Any) -> int:
    """The drafter fills in the New notice page; returns the notice's id."""
    response = console(app, username).post("/notices/new", {**WATER_CUT, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)
    found = re.search(r"/notices/(\d+)$", response.headers["Location"])
    assert found is not None
    return int(found.group(1))


def task_of(user: Any, element_id: str) -> dict[str, Any]:
    listed = [task for scope in ("group", "mine")
              for task in user.get("/tasks", query_string={"scope": scope}).json["items"] if task["name"] == element_id]
    assert len(listed) == 1, listed
    return listed[0]


def notice_texts() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "notice")
                                   .order_by(OutboxMessage.id)))


def approve(desk: Desk) -> None:
    task = task_of(desk.staff.supervisor, "approve_notice")
    response = desk.staff.supervisor.complete(task["id"], {"notice_approved": True})
    assert response.status_code == 200, response.json


def test_a_notice_approved_for_one_building_texts_only_its_owners_and_prints_a_page_per_unit(
        desk: Desk, building_3: None) -> None:
    notice_id = draft(desk.app)
    assert notice_texts() == [], "nothing goes out before the approval"
    approve(desk)

    texts = notice_texts()
    assert [text.recipient for text in texts] == [OWNER_PHONE], "only building 3's mobile; not building 1's owner"
    assert texts[0].body.endswith("兰亭苑通知：3栋停水通知（3月5日 09:00至17:00）。详见公告栏、信报箱或业主服务页面。")
    supervisor = console(desk.app, "supervisor")
    letterbox = supervisor.get(f"/notices/{notice_id}/letterbox.pdf")
    assert letterbox.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(letterbox.data)).pages) == 3, "one page per unit of building 3"
    board = supervisor.get(f"/notices/{notice_id}/board.pdf")
    assert len(PdfReader(io.BytesIO(board.data)).pages) == 1
    assert "兰亭苑" in PdfReader(io.BytesIO(board.data)).pages[0].extract_text()
    bell = desk.staff.agent.get("/notifications").json
    assert any(item["kind"] == "notice" for item in bell["items"]), "the service desk is told too"


def test_staff_see_the_units_not_reached_and_deliver_by_hand(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk.app)
    approve(desk)
    run_timer_worker(desk.app)  # the worker delivers the outbox

    agent = console(desk.app, "agent")
    page = agent.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert outcomes(page) == {HANDED_OVER_2_YEARS_AGO: "texted", LANDLINE_UNIT: "no_mobile",
                              NO_MOBILE_UNIT: "no_mobile"}
    assert 'id="unreached-count">2<' in page
    recipient = re.search(rf'data-unit="{NO_MOBILE_UNIT}".*?/units/(\d+)/by-hand', page, re.S)
    assert recipient is not None
    marked = agent.post(f"/notices/{notice_id}/units/{recipient.group(1)}/by-hand", {"note": "已投信报箱并电话告知"})
    assert marked.status_code == 302
    assert outcomes(agent.get(f"/notices/{notice_id}").get_data(as_text=True))[NO_MOBILE_UNIT] == "by_hand"


def outcomes(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-unit="([^"]+)" data-outcome="([^"]+)"', page))


def test_a_notice_sent_back_with_a_reason_returns_to_its_drafter(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk.app)
    task = task_of(desk.staff.supervisor, "approve_notice")
    refused = desk.staff.supervisor.complete(task["id"], {"notice_approved": False})
    assert refused.status_code == 422, "a reason is needed to send it back"
    sent_back = desk.staff.supervisor.complete(task["id"], {"notice_approved": False,
                                                            "review_note": "请写明恢复供水时间。"})
    assert sent_back.status_code == 200, sent_back.json

    revise = task_of(desk.staff.prop_owner, "revise_notice")
    assert revise["assignee"] == "prop_owner"
    assert desk.staff.prop_owner.get(f"/tasks/{revise['id']}").json["data"]["review_note"] == "请写明恢复供水时间。"
    assert notice_texts() == []
    page = console(desk.app, "prop_owner").get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "请写明恢复供水时间。" in page


def test_the_owners_pages_show_the_notice_in_its_window_and_not_after(
        desk: Desk, building_3: None, app: Flask) -> None:
    draft(desk.app)
    approve(desk)
    owner = signed_in_owner(app)
    assert "3栋停水通知" in owner.get("/owner/").get_data(as_text=True)
    assert "因二次供水水箱清洗" in owner.get("/owner/notices").get_data(as_text=True)

    desk.clock.set(desk.clock.now() + timedelta(days=4))  # past 2026-03-05 17:00
    assert "3栋停水通知" not in owner.get("/owner/").get_data(as_text=True)
    assert "3栋停水通知" not in owner.get("/owner/notices").get_data(as_text=True)


def test_a_notice_of_one_building_is_not_on_another_buildings_owner_pages(desk: Desk, app: Flask) -> None:
    draft(desk.app, buildings="1栋", notice_title="1栋电梯维保", notice_kind="lift_maintenance")
    approve(desk)
    assert [text.recipient for text in notice_texts()] == ["13912345678"]  # the owner of 1栋-0302
    assert "1栋电梯维保" not in signed_in_owner(app).get("/owner/").get_data(as_text=True)  # 3栋's owner


def test_a_draft_for_nobody_or_a_window_backwards_is_refused_with_what_was_typed(desk: Desk) -> None:
    drafter = console(desk.app, "prop_owner")
    nobody = drafter.post("/notices/new", {**WATER_CUT, "buildings": "99栋"})
    assert nobody.status_code == 422
    assert "99栋" in nobody.get_data(as_text=True)
    backwards = drafter.post("/notices/new", {**WATER_CUT, "ends_at": "2026-03-05T08:00"})
    assert backwards.status_code == 422
    assert console(desk.app, "tech").get("/notices/new").status_code == 403


def signed_in_owner(app: Flask) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    limiter.reset()
    phone = app.test_client()
    phone.post("/owner/sign-in", data={"phone": OWNER_PHONE})
    assert phone.post("/owner/sign-in/code", data={"phone": OWNER_PHONE,
                                                   "code": code_texted_to(OWNER_PHONE)}).status_code == 302
    assert phone.post("/owner/privacy", data={"agree": "yes"}).status_code == 302
    return phone


def test_a_unit_whose_mobile_is_recorded_later_is_texted_again(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk.app)
    approve(desk)
    record_mobile(NO_MOBILE_UNIT, "13700001111")
    agent = console(desk.app, "agent")
    page = agent.get(f"/notices/{notice_id}").get_data(as_text=True)
    recipient = re.search(rf'data-unit="{NO_MOBILE_UNIT}".*?/units/(\d+)/resend', page, re.S)
    assert recipient is not None
    assert agent.post(f"/notices/{notice_id}/units/{recipient.group(1)}/resend").status_code == 302

    assert [text.recipient for text in notice_texts()] == [OWNER_PHONE, "13700001111"]
    assert outcomes(agent.get(f"/notices/{notice_id}").get_data(as_text=True))[NO_MOBILE_UNIT] == "queued"
    technician = console(desk.app, "tech")
    assert technician.post(f"/notices/{notice_id}/units/{recipient.group(1)}/resend").status_code == 403


def record_mobile(unit_code: str, phone: str) -> None:
    """The unit's owner gives their mobile number to the desk (as the admin's unit page records it)."""
    unit = db.session.scalars(select(Unit).where(Unit.code == unit_code)).one()
    unit.owner_phone = phone
    db.session.commit()


def test_a_resubmitted_notice_waits_for_approval_again_and_a_withdrawn_one_is_never_sent(
        desk: Desk, building_3: None) -> None:
    first, second = draft(desk.app), draft(desk.app, notice_title="3栋电梯维保", notice_kind="lift_maintenance")
    sent_back = {"notice_approved": False, "review_note": "时间不对。"}
    for task in (task_of_notice(desk, first), task_of_notice(desk, second)):
        assert desk.staff.supervisor.complete(task, sent_back).status_code == 200
    revise = {name: value for name, value in WATER_CUT.items() if name not in ("starts_at", "ends_at")}
    revise |= {"starts_at": "2026-03-06T09:00:00+08:00", "ends_at": "2026-03-06T12:00:00+08:00"}
    tasks = [task for task in desk.staff.prop_owner.get("/tasks", query_string={"scope": "mine"}).json["items"]
             if task["name"] == "revise_notice"]
    assert len(tasks) == 2
    by_instance = {task["instance_id"]: task["id"] for task in tasks}
    drafter = desk.staff.prop_owner
    assert drafter.complete(by_instance[instance_of(first)], {**revise, "resubmit": True}).status_code == 200
    assert drafter.complete(by_instance[instance_of(second)], {**revise, "resubmit": False}).status_code == 200

    supervisor = console(desk.app, "supervisor")
    assert 'id="notice-status">待审批<' in supervisor.get(f"/notices/{first}").get_data(as_text=True)
    assert 'id="notice-status">已撤回<' in supervisor.get(f"/notices/{second}").get_data(as_text=True)
    assert supervisor.get(f"/notices/{second}/letterbox.pdf").status_code == 404
    approve(desk)
    assert notice_texts()[0].body.endswith("（3月6日 09:00至12:00）。详见公告栏、信报箱或业主服务页面。")


def instance_of(notice_id: int) -> int:
    instance_id = db.session.get_one(Notice, notice_id).instance_id
    assert instance_id is not None
    return instance_id


def task_of_notice(desk: Desk, notice_id: int) -> str:
    tasks = [task for task in desk.staff.supervisor.get("/tasks", query_string={"scope": "group"}).json["items"]
             if task["instance_id"] == instance_of(notice_id)]
    assert len(tasks) == 1
    return str(tasks[0]["id"])


def test_staff_limited_to_another_project_do_not_see_the_notice(desk: Desk, building_3: None,
                                                                 make_user: Any) -> None:
    notice_id = draft(desk.app)
    approve(desk)
    outsider = make_user("binjiang_agent", "cs_agent")
    limit_user_to_projects(db.session.scalars(select(User.id).where(User.username == outsider.username)).one(),
                           ["binjiang"])
    browser = console(desk.app, "binjiang_agent")
    assert browser.get(f"/notices/{notice_id}").status_code == 404
    assert browser.get(f"/notices/{notice_id}/letterbox.pdf").status_code == 404
    assert "3栋停水通知" not in browser.get("/notices").get_data(as_text=True)


class RefusingCarrier:
    """A carrier that refuses every text for good (a number that has left the network)."""

    def send(self, message: Any) -> None:
        raise UndeliverableError("号码已停机")


def test_a_text_the_carrier_refused_shows_as_failed_and_can_be_sent_again(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk.app)
    approve(desk)
    assert deliver_outbox(RefusingCarrier(), now=desk.clock.now()) == (0, 1)

    agent = console(desk.app, "agent")
    page = agent.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert outcomes(page)[HANDED_OVER_2_YEARS_AGO] == "failed"
    assert "号码已停机" in page
    recipient = re.search(rf'data-unit="{HANDED_OVER_2_YEARS_AGO}".*?/units/(\d+)/resend', page, re.S)
    assert recipient is not None
    agent.post(f"/notices/{notice_id}/units/{recipient.group(1)}/resend")
    assert [text.status for text in notice_texts()] == ["failed", "pending"]
    assert outcomes(agent.get(f"/notices/{notice_id}").get_data(as_text=True))[HANDED_OVER_2_YEARS_AGO] == "queued"
