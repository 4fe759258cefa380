"""Surveys through HTTP, the edges: a form from the designer's form editor, refused surveys keep what was typed,
a link only works as texted, a wrong answer keeps what the owner chose, a closed survey, the exports in Chinese,
and who may see what."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db
from app.models import User
from app.models.jobs import OutboxMessage
from app.services.people.organisation import create_project, create_unit, limit_user_to_projects
from app.services.people.users import create_user
from tests.console_client import PASSWORD, Browser

OWNER_PHONE, OTHER_PHONE = "13812345678", "13912345678"
QUICK_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
    "title": "电梯维保满意度 / Lift maintenance survey",
    "properties": {"lift_ok": {"type": "boolean", "title": "电梯运行正常吗 / Does the lift run well"},
                   "note": {"type": "string", "title": "补充 / Anything else", "maxLength": 200}},
    "required": ["lift_ok"]}
PHOTO_FORM = {**QUICK_FORM, "properties": {"picture": {"type": "string", "title": "照片 / Photo",
                                                       "x-widget": "photo"}}, "required": []}
SURVEY = {"title": "电梯维保回访", "form_key": "survey_lift.json", "project": "lanting", "building": "",
          "units": "", "closes_on": ""}


@pytest.fixture
def people(app: Flask, clock: ManualClock) -> None:
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    create_unit("lanting", "3栋-1202", owner_name="王先生", owner_phone=OWNER_PHONE)
    create_unit("lanting", "1栋-0302", owner_name="李女士", owner_phone=OTHER_PHONE)
    create_unit("lanting", "1栋-0303", owner_name="无手机", owner_phone="025-83216789")
    for username, roles in (("chen", ["cs_supervisor"]), ("wang", ["cs_agent"]), ("zhou", ["cs_supervisor"]),
                            ("dina", ["designer"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)
    zhou = db.session.scalar(select(User.id).where(User.username == "zhou"))
    limit_user_to_projects(int(zhou), ["binjiang"])


def logged_in(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def designed(app: Flask, name: str, form: dict[str, object]) -> None:
    """The designer saves a form in the form editor (a draft: a survey form is used by no process)."""
    saved = logged_in(app, "dina").post_json(f"/designer/files/{name}/draft", {"content": json.dumps(form)})
    assert saved.status_code == 200, saved.get_data(as_text=True)


def link_texted_to(phone: str) -> str:
    db.session.remove()
    body = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == phone)
                              .order_by(OutboxMessage.id.desc())).first()
    found = re.search(r"(/owner/s/[\w.-]+)", body or "")
    assert found, body
    return found.group(1)


@pytest.fixture
def sent(app: Flask, people: None) -> str:
    """The lift survey sent to lanting; returns its results page."""
    designed(app, "survey_lift.json", QUICK_FORM)
    response = logged_in(app, "chen").post("/surveys", SURVEY)
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.headers["Location"])


def test_a_form_from_the_designer_is_offered_and_only_mobiles_get_a_text(app: Flask, sent: str) -> None:
    page = logged_in(app, "chen").get(sent).get_data(as_text=True)
    assert "已发给 3 位业主，其中 2 位收到短信" in page  # the landline owner gets no text
    assert "电梯运行正常吗" in page


def test_a_survey_refused_keeps_what_was_typed(app: Flask, people: None) -> None:
    designed(app, "survey_photo.json", PHOTO_FORM)
    designed(app, "survey_lift.json", QUICK_FORM)
    chen = logged_in(app, "chen")
    refused = chen.post("/surveys", {**SURVEY, "form_key": "survey_photo.json", "title": "带照片的问卷"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "问卷表单不能包含照片" in page and 'value="带照片的问卷"' in page
    nobody = chen.post("/surveys", {**SURVEY, "building": "9栋"})
    assert nobody.status_code == 422 and "该范围内没有留有电话的业主" in nobody.get_data(as_text=True)


def test_a_link_changed_by_hand_opens_nothing(app: Flask, sent: str) -> None:
    link = link_texted_to(OWNER_PHONE)
    owner = Browser(app.test_client())
    assert owner.get(link[:-3] + "abc").status_code == 404
    assert owner.get("/owner/s/not-a-token").status_code == 404


def test_a_wrong_answer_is_refused_with_what_the_owner_chose_kept(app: Flask, sent: str) -> None:
    link = link_texted_to(OWNER_PHONE)
    owner = Browser(app.test_client())
    owner.get(link)
    refused = owner.post(link, {"note": "按钮不灵"})
    assert refused.status_code == 422
    assert "按钮不灵" in refused.get_data(as_text=True)
    assert owner.post(link, {"lift_ok": "false", "note": "按钮不灵"}).status_code == 200
    results = logged_in(app, "chen").get(sent).get_data(as_text=True)
    assert "1 位已填写" in results


def test_a_closed_survey_takes_no_answer(app: Flask, people: None, clock: ManualClock) -> None:
    designed(app, "survey_lift.json", QUICK_FORM)
    closes = clock.now().date() + timedelta(days=1)
    assert logged_in(app, "chen").post("/surveys", {**SURVEY, "closes_on": closes.isoformat()}).status_code == 302
    link = link_texted_to(OWNER_PHONE)
    clock.advance(timedelta(days=3))
    owner = Browser(app.test_client())
    owner.get(link)
    late = owner.post(link, {"lift_ok": "true"})
    assert late.status_code == 409 and "已于" in late.get_data(as_text=True)


def test_the_answers_export_with_chinese_headers(app: Flask, sent: str) -> None:
    link = link_texted_to(OWNER_PHONE)
    owner = Browser(app.test_client())
    owner.get(link)
    owner.post(link, {"lift_ok": "true", "note": "=1+1"})
    chen = logged_in(app, "chen")
    rows = list(csv.reader(io.StringIO(chen.get(f"{sent}/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["房号", "提交时间", "电梯运行正常吗", "补充"]
    assert rows[1][0] == "3栋-1202" and rows[1][2:] == ["是", "'=1+1"]  # a formula stays text
    sheet = load_workbook(io.BytesIO(chen.get(f"{sent}/export.xlsx").data)).active
    assert [cell.value for cell in sheet[1]] == ["房号", "提交时间", "电梯运行正常吗", "补充"]


def test_only_supervisors_of_the_project_see_a_survey(app: Flask, sent: str) -> None:
    assert logged_in(app, "wang").get("/surveys").status_code == 403
    zhou = logged_in(app, "zhou")
    assert zhou.get(sent).status_code == 404
    assert "电梯维保回访" not in zhou.get("/surveys").get_data(as_text=True)
    assert zhou.post("/surveys", SURVEY).status_code == 403

