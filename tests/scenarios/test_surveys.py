"""Surveys (客户活动调查): the CS supervisor sends a survey form to a project's owners by text (POST /surveys), each
owner answers with their link alone on the owner pages, a second answer counts nothing, and the results
(GET /surveys/<id>, the console's results page) count the answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.jobs import OutboxMessage
from app.services.people.organisation import limit_user_to_projects
from tests.console_client import Browser
from tests.scenarios.conftest import OWNER_PHONE, Staff
from tests.support.paths import ROOT

NEIGHBOUR_PHONE = "13912345678"  # 李女士, 1栋-0302, same project
SURVEY = {"title": "2026 春季社区活动调查", "form_key": "survey_community_activity.json", "project": "lanting",
          "building": "", "units": "", "closes_on": ""}
ANSWER = {"overall": "satisfied", "joined_activity": "true", "wanted_activity": "health",
          "suggestion": "多办健康讲座。"}


def logged_in(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def survey_link_texted_to(phone: str) -> str:
    """The path of the survey link in the newest text to ``phone``."""
    db.session.remove()
    body = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == phone)
                              .order_by(OutboxMessage.id.desc())).first()
    assert body is not None and "问卷" in body, body
    found = re.search(r"https?://[^/\s]+(/owner/s/[\w.-]+)", body)
    assert found, body
    return found.group(1)


def send_survey(staff: Staff, **changes: Any) -> int:
    """The CS supervisor sends the survey (POST /surveys); returns its id."""
    sent = staff.supervisor.post("/surveys", json={"data": {**SURVEY, **changes}})
    assert sent.status_code == 201, sent.json
    return int(sent.json["id"])


def results(staff: Staff, survey_id: int) -> dict[str, Any]:
    response = staff.supervisor.get(f"/surveys/{survey_id}")
    assert response.status_code == 200, response.json
    return dict(response.json)


def counts_of(shown: dict[str, Any], question: str) -> list[int]:
    [found] = [item for item in shown["questions"] if item["name"] == question]
    return [choice["count"] for choice in found["counts"]]


def counts_on(page: str, question: str) -> list[int]:
    section = page.split(f'data-question="{question}"')[1].split("</section>")[0]
    return [int(count) for count in re.findall(r'data-count="(\d+)"', section)]


@pytest.fixture
def survey_staff(app: Flask, staff: Staff) -> Staff:
    """The staff, with the shipped forms folder (its survey_*.json) as production has it."""
    app.config["FORMS_DIR"] = ROOT / "forms"
    return staff


def test_a_survey_link_answered_twice_counts_once(app: Flask, survey_staff: Staff) -> None:
    survey_id = send_survey(survey_staff)
    link = survey_link_texted_to(OWNER_PHONE)
    owner = Browser(app.test_client())
    page = owner.get(link)
    assert page.status_code == 200 and "社区活动与服务满意度调查" in page.get_data(as_text=True)

    first = owner.post(link, ANSWER)
    assert first.status_code == 200 and "已提交" in first.get_data(as_text=True)
    again = owner.post(link, {**ANSWER, "overall": "very_dissatisfied"})
    assert again.status_code == 200 and "您已填写过本问卷" in again.get_data(as_text=True)
    assert "您已填写过本问卷" in owner.get(link).get_data(as_text=True)

    shown = results(survey_staff, survey_id)
    assert (shown["recipients"], shown["texted"], shown["answered"]) == (2, 2, 1)
    assert counts_of(shown, "overall") == [0, 1, 0, 0, 0]  # the second answer (very dissatisfied) is not counted
    assert counts_of(shown, "joined_activity") == [1, 0]
    [suggestion] = [item for item in shown["questions"] if item["name"] == "suggestion"]
    assert suggestion["kind"] == "text" and suggestion["texts"] == ["多办健康讲座。"]


def test_the_results_page_charts_the_same_counts(app: Flask, survey_staff: Staff) -> None:
    survey_id = send_survey(survey_staff)
    owner = Browser(app.test_client())
    link = survey_link_texted_to(OWNER_PHONE)
    owner.get(link)
    assert owner.post(link, ANSWER).status_code == 200
    page = logged_in(app, "supervisor").get(f"/surveys/{survey_id}").get_data(as_text=True)
    assert "已发给 2 位业主" in page and "1 位已填写" in page
    assert counts_on(page, "overall") == counts_of(results(survey_staff, survey_id), "overall") == [0, 1, 0, 0, 0]


def test_each_owner_answers_with_their_own_link_and_the_results_add_up(app: Flask, survey_staff: Staff) -> None:
    survey_id = send_survey(survey_staff)
    for phone, overall in ((OWNER_PHONE, "satisfied"), (NEIGHBOUR_PHONE, "very_satisfied")):
        owner = Browser(app.test_client())
        link = survey_link_texted_to(phone)
        owner.get(link)
        assert owner.post(link, {**ANSWER, "overall": overall}).status_code == 200
    shown = results(survey_staff, survey_id)
    assert counts_of(shown, "overall") == [1, 1, 0, 0, 0]
    assert shown["answered"] == 2
    listed = survey_staff.supervisor.get("/surveys").json["items"]
    assert [(item["id"], item["recipients"], item["answered"]) for item in listed] == [(survey_id, 2, 2)]
    exported = survey_staff.supervisor.get(f"/surveys/{survey_id}/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    lines = exported.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("房号,") and len(lines) == 3, "a header and one row per owner who answered"
    workbook = survey_staff.supervisor.get(f"/surveys/{survey_id}/export.xlsx")
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"


def test_a_survey_sent_to_one_building_texts_only_its_owners(app: Flask, survey_staff: Staff) -> None:
    sent = survey_staff.supervisor.post("/surveys", json={"data": {**SURVEY, "building": "1栋"}})
    assert (sent.status_code, sent.json["recipients"], sent.json["texted"]) == (201, 1, 1)
    survey_link_texted_to(NEIGHBOUR_PHONE)
    db.session.remove()
    assert db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == OWNER_PHONE)).all() == []


def test_the_survey_forms_are_offered_with_their_questions(survey_staff: Staff) -> None:
    forms = {item["key"]: item for item in survey_staff.supervisor.get("/survey-forms").json["items"]}
    assert "overall" in forms["survey_community_activity.json"]["form"]["properties"]
    assert forms["survey_community_activity.json"]["title"] == "社区活动与服务满意度调查"


def test_a_survey_with_bad_fields_is_refused_naming_each(survey_staff: Staff) -> None:
    refused = survey_staff.supervisor.post("/surveys", json={"data": {
        **SURVEY, "title": "", "form_key": "reception_intake.json", "closes_on": "next week"}})
    assert refused.status_code == 422, refused.json
    assert set(refused.json["errors"]) == {"title", "form_key", "closes_on"}
    nobody = survey_staff.supervisor.post("/surveys", json={"data": {**SURVEY, "units": ["9栋-0101"]}})
    assert nobody.status_code == 422 and list(nobody.json["errors"]) == ["building"]
    assert survey_staff.supervisor.post("/surveys", json={"data": {**SURVEY, "project": "nowhere"}}).status_code == 404
    assert survey_staff.supervisor.get("/surveys").json["items"] == [], "nothing refused was kept"


def test_only_supervisors_of_the_project_send_and_read_surveys(survey_staff: Staff, api_as: Any) -> None:
    survey_id = send_survey(survey_staff)
    agent = survey_staff.agent
    assert agent.post("/surveys", json={"data": SURVEY}).status_code == 403
    assert agent.get(f"/surveys/{survey_id}").status_code == 403
    assert agent.get(f"/surveys/{survey_id}/export.csv").status_code == 403
    assert agent.get("/survey-forms").status_code == 403
    outsider = api_as("binjiang_supervisor", "cs_supervisor")
    limit_user_to_projects(db.session.scalars(select(User.id).where(User.username == "binjiang_supervisor")).one(),
                           ["binjiang"])
    assert outsider.get(f"/surveys/{survey_id}").status_code == 404
    assert outsider.get(f"/surveys/{survey_id}/export.xlsx").status_code == 404
    assert outsider.get("/surveys").json["items"] == []
    assert outsider.post("/surveys", json={"data": SURVEY}).status_code == 403
