"""Notices to owners (通知) through the JSON API: a department owner drafts one (POST /notices), the CS supervisor
approves it through its task, and it goes out on the three channels of seed 000 — texts to the owners of the units
it addresses, a letterbox PDF with one page per unit, a notice-board sheet — and on the owners' pages during its window.
Staff see the units it did not reach and why (GET /notices/<id>) and act on them. The console's pages keep the
tests of what they show (a refused draft with what was typed, the reach table)."""

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
from tests.conftest import Api
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
             "buildings": "3栋", "units": "", "starts_at": "2026-03-05T09:00:00+08:00",
             "ends_at": "2026-03-05T17:00:00+08:00", "staff_audience": "cs_team"}
# The console's New notice form, its times in business time as the page's inputs give them.
WATER_CUT_TYPED = {**WATER_CUT, "starts_at": "2026-03-05T09:00", "ends_at": "2026-03-05T17:00"}


@pytest.fixture
def building_3(desk: Desk) -> None:
    """Building 3 of lanting: the owner's unit (a mobile), one without a number, one with a landline only."""
    create_unit("lanting", NO_MOBILE_UNIT, owner_name="赵先生")
    create_unit("lanting", LANDLINE_UNIT, owner_name="钱女士", owner_phone="0571-88886666")


def console(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def draft(desk: Desk, **changes: Any) -> int:
    """The property department's owner drafts the notice (POST /notices); returns the notice's id."""
    response = desk.staff.prop_owner.post("/notices", json={"data": {**WATER_CUT, **changes}})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending" and response.json["recipients"] == []
    return int(response.json["id"])


def reach(user: Api, notice_id: int) -> dict[str, Any]:
    response = user.get(f"/notices/{notice_id}")
    assert response.status_code == 200, response.json
    return dict(response.json)


def outcomes(user: Api, notice_id: int) -> dict[str, str]:
    return {unit["unit"]: unit["outcome"] for unit in reach(user, notice_id)["recipients"]}


def recipient_id(user: Api, notice_id: int, unit_code: str) -> int:
    [found] = [unit["id"] for unit in reach(user, notice_id)["recipients"] if unit["unit"] == unit_code]
    return int(found)


def pdf_pages(user: Api, path: str) -> list[str]:
    response = user.get(path)
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/pdf"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]


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
    notice_id = draft(desk)
    assert notice_texts() == [], "nothing goes out before the approval"
    supervisor = desk.staff.supervisor
    assert supervisor.get(f"/notices/{notice_id}/letterbox.pdf").status_code == 404, "nothing to print yet"
    approve(desk)

    texts = notice_texts()
    assert [text.recipient for text in texts] == [OWNER_PHONE], "only building 3's mobile; not building 1's owner"
    assert texts[0].body.endswith("兰亭苑通知：3栋停水通知（3月5日 09:00至17:00）。详见公告栏、信报箱或业主服务页面。")
    sent = reach(supervisor, notice_id)
    assert (sent["status"], sent["reached"], sent["unreached"]) == ("sent", 0, 3), "texts wait for the worker"
    letterbox = pdf_pages(supervisor, f"/notices/{notice_id}/letterbox.pdf")
    assert len(letterbox) == 3, "one page per unit of building 3"
    assert [unit for unit in (HANDED_OVER_2_YEARS_AGO, LANDLINE_UNIT, NO_MOBILE_UNIT)
            if any(unit in page for page in letterbox)] == [HANDED_OVER_2_YEARS_AGO, LANDLINE_UNIT, NO_MOBILE_UNIT]
    board = pdf_pages(supervisor, f"/notices/{notice_id}/board.pdf")
    assert len(board) == 1 and "兰亭苑" in board[0]
    bell = desk.staff.agent.get("/notifications").json
    assert any(item["kind"] == "notice" for item in bell["items"]), "the service desk is told too"


def test_staff_see_who_was_not_reached_and_why_and_deliver_by_hand(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk)
    approve(desk)
    run_timer_worker(desk.app)  # the worker delivers the outbox

    agent = desk.staff.agent
    shown = reach(agent, notice_id)
    assert outcomes(agent, notice_id) == {HANDED_OVER_2_YEARS_AGO: "texted", LANDLINE_UNIT: "no_mobile",
                                          NO_MOBILE_UNIT: "no_mobile"}
    assert (shown["reached"], shown["unreached"]) == (1, 2)
    landline = next(unit for unit in shown["recipients"] if unit["unit"] == LANDLINE_UNIT)
    assert (landline["phone"], landline["reached"]) == ("057****6666", False), "the phone is masked"
    marked = agent.post(f"/notices/{notice_id}/units/{recipient_id(agent, notice_id, NO_MOBILE_UNIT)}/by-hand",
                        json={"data": {"note": "已投信报箱并电话告知"}})
    assert marked.status_code == 200, marked.json
    assert (marked.json["reached"], marked.json["unreached"]) == (2, 1)
    [by_hand] = [unit for unit in marked.json["recipients"] if unit["unit"] == NO_MOBILE_UNIT]
    assert (by_hand["outcome"], by_hand["hand_note"]) == ("by_hand", "已投信报箱并电话告知")


def test_the_console_page_lists_the_units_not_reached_with_their_actions(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk)
    approve(desk)
    run_timer_worker(desk.app)

    agent = console(desk.app, "agent")
    page = agent.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert agent.get(f"/notices/{notice_id}/board.pdf").mimetype == "application/pdf", "the page's print links"
    assert dict(re.findall(r'data-unit="([^"]+)" data-outcome="([^"]+)"', page)) == {
        HANDED_OVER_2_YEARS_AGO: "texted", LANDLINE_UNIT: "no_mobile", NO_MOBILE_UNIT: "no_mobile"}
    assert 'id="unreached-count">2<' in page
    assert re.search(rf'data-unit="{NO_MOBILE_UNIT}".*?/units/\d+/by-hand', page, re.S)


def test_a_notice_sent_back_with_a_reason_returns_to_its_drafter(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk)
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
    shown = reach(desk.staff.prop_owner, notice_id)
    assert (shown["status"], shown["review_note"]) == ("sent_back", "请写明恢复供水时间。")


def test_the_owners_pages_show_the_notice_in_its_window_and_not_after(
        desk: Desk, building_3: None, app: Flask) -> None:
    draft(desk)
    approve(desk)
    owner = signed_in_owner(app)
    assert "3栋停水通知" in owner.get("/owner/").get_data(as_text=True)
    assert "因二次供水水箱清洗" in owner.get("/owner/notices").get_data(as_text=True)

    desk.clock.set(desk.clock.now() + timedelta(days=4))  # past 2026-03-05 17:00
    assert "3栋停水通知" not in owner.get("/owner/").get_data(as_text=True)
    assert "3栋停水通知" not in owner.get("/owner/notices").get_data(as_text=True)


def test_a_notice_of_one_building_is_not_on_another_buildings_owner_pages(desk: Desk, app: Flask) -> None:
    draft(desk, buildings="1栋", notice_title="1栋电梯维保", notice_kind="lift_maintenance")
    approve(desk)
    assert [text.recipient for text in notice_texts()] == ["13912345678"]  # the owner of 1栋-0302
    assert "1栋电梯维保" not in signed_in_owner(app).get("/owner/").get_data(as_text=True)  # 3栋's owner


def test_a_draft_for_nobody_or_a_window_backwards_is_refused_naming_the_field(desk: Desk) -> None:
    drafter = desk.staff.prop_owner
    nobody = drafter.post("/notices", json={"data": {**WATER_CUT, "buildings": "99栋"}})
    assert nobody.status_code == 422
    assert list(nobody.json["errors"]) == ["buildings"]
    backwards = drafter.post("/notices", json={"data": {**WATER_CUT, "ends_at": "2026-03-05T08:00:00+08:00"}})
    assert backwards.status_code == 422 and list(backwards.json["errors"]) == ["ends_at"]
    untyped = drafter.post("/notices", json={"data": {**WATER_CUT, "notice_kind": "party", "starts_at": "tomorrow"}})
    assert untyped.status_code == 422 and {"notice_kind", "starts_at"} <= set(untyped.json["errors"])
    other_project = drafter.post("/notices", json={"data": {**WATER_CUT, "project": "nowhere"}})
    assert other_project.status_code == 422 and list(other_project.json["errors"]) == ["project"]
    assert desk.staff.tech.post("/notices", json={"data": WATER_CUT}).status_code == 403
    assert desk.staff.tech.get("/notices").status_code == 403
    assert drafter.get("/notices").json["items"] == [], "nothing refused was kept"


def test_the_console_keeps_what_was_typed_in_a_refused_draft(desk: Desk) -> None:
    drafter = console(desk.app, "prop_owner")
    nobody = drafter.post("/notices/new", {**WATER_CUT_TYPED, "buildings": "99栋"})
    assert nobody.status_code == 422
    assert "99栋" in nobody.get_data(as_text=True)
    backwards = drafter.post("/notices/new", {**WATER_CUT_TYPED, "ends_at": "2026-03-05T08:00"})
    assert backwards.status_code == 422
    assert drafter.post("/notices/new", WATER_CUT_TYPED).status_code == 302
    assert console(desk.app, "tech").get("/notices/new").status_code == 403


def test_refusals_are_said_in_the_readers_language(desk: Desk) -> None:
    def in_language(user: Api, language: str, method: str, path: str, **kwargs: Any) -> Any:
        with desk.app.app_context():  # a request of its own, as in production (the test's context caches the locale)
            return user.client.open(f"/api/v1{path}", method=method, **kwargs,
                                    headers={**user.user.headers, "Accept-Language": language})

    nobody = {"data": {**WATER_CUT, "buildings": "99栋"}}
    english = in_language(desk.staff.prop_owner, "en", "POST", "/notices", json=nobody)
    assert english.json["errors"]["buildings"] == "these buildings and units address no unit of the project"
    chinese = in_language(desk.staff.prop_owner, "zh", "POST", "/notices", json=nobody)
    assert chinese.json["errors"]["buildings"] not in ("", english.json["errors"]["buildings"])
    assert in_language(desk.staff.tech, "en", "GET", "/notices").json["message"] == "you may not see notices"


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
    notice_id = draft(desk)
    approve(desk)
    agent = desk.staff.agent
    unit = recipient_id(agent, notice_id, NO_MOBILE_UNIT)
    still_none = agent.post(f"/notices/{notice_id}/units/{unit}/resend")
    assert still_none.status_code == 200 and still_none.json["queued"] is False

    record_mobile(NO_MOBILE_UNIT, "13700001111")
    resent = agent.post(f"/notices/{notice_id}/units/{unit}/resend")
    assert resent.status_code == 200 and resent.json["queued"] is True

    assert [text.recipient for text in notice_texts()] == [OWNER_PHONE, "13700001111"]
    assert outcomes(agent, notice_id)[NO_MOBILE_UNIT] == "queued"
    technician = desk.staff.tech
    assert technician.post(f"/notices/{notice_id}/units/{unit}/resend").status_code == 403
    assert technician.post(f"/notices/{notice_id}/units/{unit}/by-hand").status_code == 403
    assert agent.post(f"/notices/{notice_id}/units/999999/resend").status_code == 404
    not_text = agent.post(f"/notices/{notice_id}/units/{unit}/by-hand", json={"data": {"note": 42}})
    assert not_text.status_code == 400 and list(not_text.json["errors"]) == ["note"]


def record_mobile(unit_code: str, phone: str) -> None:
    """The unit's owner gives their mobile number to the desk (as the admin's unit page records it)."""
    unit = db.session.scalars(select(Unit).where(Unit.code == unit_code)).one()
    unit.owner_phone = phone
    db.session.commit()


def test_a_resubmitted_notice_waits_for_approval_again_and_a_withdrawn_one_is_never_sent(
        desk: Desk, building_3: None) -> None:
    first, second = draft(desk), draft(desk, notice_title="3栋电梯维保", notice_kind="lift_maintenance")
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
    assert drafter.complete(by_instance[instance_of(desk, first)], {**revise, "resubmit": True}).status_code == 200
    assert drafter.complete(by_instance[instance_of(desk, second)], {**revise, "resubmit": False}).status_code == 200

    supervisor = desk.staff.supervisor
    assert reach(supervisor, first)["status"] == "pending"
    assert reach(supervisor, second)["status"] == "withdrawn"
    assert supervisor.get(f"/notices/{second}/letterbox.pdf").status_code == 404
    assert 'id="notice-status">已撤回<' in console(desk.app, "supervisor").get(
        f"/notices/{second}").get_data(as_text=True)
    approve(desk)
    assert notice_texts()[0].body.endswith("（3月6日 09:00至12:00）。详见公告栏、信报箱或业主服务页面。")


def instance_of(desk: Desk, notice_id: int) -> int:
    instance_id = reach(desk.staff.supervisor, notice_id)["instance_id"]
    assert isinstance(instance_id, int)
    return instance_id


def task_of_notice(desk: Desk, notice_id: int) -> str:
    tasks = [task for task in desk.staff.supervisor.get("/tasks", query_string={"scope": "group"}).json["items"]
             if task["instance_id"] == instance_of(desk, notice_id)]
    assert len(tasks) == 1
    return str(tasks[0]["id"])


def test_staff_limited_to_another_project_do_not_see_the_notice(desk: Desk, building_3: None,
                                                                 api_as: Any) -> None:
    notice_id = draft(desk)
    approve(desk)
    outsider = api_as("binjiang_agent", "cs_agent")
    limit_user_to_projects(db.session.scalars(select(User.id).where(User.username == "binjiang_agent")).one(),
                           ["binjiang"])
    unit = recipient_id(desk.staff.agent, notice_id, NO_MOBILE_UNIT)
    assert outsider.get(f"/notices/{notice_id}").status_code == 404
    assert outsider.get(f"/notices/{notice_id}/letterbox.pdf").status_code == 404
    assert outsider.get(f"/notices/{notice_id}/board.pdf").status_code == 404
    assert outsider.post(f"/notices/{notice_id}/units/{unit}/by-hand").status_code == 404
    assert outsider.get("/notices").json["items"] == []
    assert outsider.post("/notices", json={"data": WATER_CUT}).status_code == 403, "an agent drafts no notice"
    drafter = api_as("binjiang_owner", "dept_owner", departments=("property",))
    limit_user_to_projects(db.session.scalars(select(User.id).where(User.username == "binjiang_owner")).one(),
                           ["binjiang"])
    elsewhere = drafter.post("/notices", json={"data": WATER_CUT})
    assert (elsewhere.status_code, list(elsewhere.json["errors"])) == (422, ["project"]), "as if lanting did not exist"
    browser = console(desk.app, "binjiang_agent")
    assert browser.get(f"/notices/{notice_id}").status_code == 404
    assert "3栋停水通知" not in browser.get("/notices").get_data(as_text=True)


class RefusingCarrier:
    """A carrier that refuses every text for good (a number that has left the network)."""

    def send(self, message: Any) -> None:
        raise UndeliverableError("号码已停机")


def test_a_text_the_carrier_refused_shows_as_failed_and_can_be_sent_again(desk: Desk, building_3: None) -> None:
    notice_id = draft(desk)
    approve(desk)
    assert deliver_outbox(RefusingCarrier(), now=desk.clock.now()) == (0, 1)

    agent = desk.staff.agent
    [failed] = [unit for unit in reach(agent, notice_id)["recipients"] if unit["unit"] == HANDED_OVER_2_YEARS_AGO]
    assert (failed["outcome"], failed["last_error"], failed["reached"]) == ("failed", "号码已停机", False)
    assert agent.post(f"/notices/{notice_id}/units/{failed['id']}/resend").json["queued"] is True
    assert [text.status for text in notice_texts()] == ["failed", "pending"]
    assert outcomes(agent, notice_id)[HANDED_OVER_2_YEARS_AGO] == "queued"


def test_staff_of_one_project_see_its_notices_however_many_newer_ones_other_projects_have(
        desk: Desk, building_3: None, api_as: Any) -> None:
    def limited_to_binjiang(username: str, role: str, departments: tuple[str, ...] = ()) -> Api:
        user = api_as(username, role, departments=departments)
        limit_user_to_projects(db.session.scalars(select(User.id).where(User.username == username)).one(),
                               ["binjiang"])
        return user

    drafter = limited_to_binjiang("binjiang_owner", "dept_owner", ("property",))
    ours = drafter.post("/notices", json={"data": {**WATER_CUT, "project": "binjiang", "buildings": "1栋",
                                                   "notice_title": "1栋停水通知"}})
    assert ours.status_code == 201, ours.json
    later = desk.clock.now() + timedelta(minutes=1)
    db.session.add_all(Notice(kind="community_event", title=f"兰亭苑活动 {n}", body="活动通知。", project_key="lanting",
                              buildings=[], unit_codes=[], starts_at=later, ends_at=later + timedelta(hours=2),
                              status="pending", created_at=later + timedelta(seconds=n)) for n in range(100))
    db.session.commit()

    reader = limited_to_binjiang("binjiang_agent", "cs_agent")
    assert [notice["title"] for notice in reader.get("/notices").json["items"]] == ["1栋停水通知"]
    assert "1栋停水通知" in console(desk.app, "binjiang_agent").get("/notices").get_data(as_text=True)
    first = desk.staff.agent.get("/notices", query_string={"limit": 60}).json
    assert (len(first["items"]), first["next"]) == (60, "60"), "truncated: the next page is named"
    rest = desk.staff.agent.get("/notices", query_string={"limit": 60, "cursor": first["next"]}).json
    assert (len(rest["items"]), rest["next"]) == (41, None)
    assert rest["items"][-1]["title"] == "1栋停水通知", "every project's, newest first"
    assert desk.staff.agent.get("/notices", query_string={"cursor": "page-2"}).status_code == 400
