"""Surveys (客户活动调查) through HTTP: the CS supervisor sends a survey form to a project's owners by text, each
owner answers with their link alone, a second answer counts nothing, and the results page counts the answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models.jobs import OutboxMessage
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


def send_survey(app: Flask, **changes: Any) -> tuple[Browser, str]:
    supervisor = logged_in(app, "supervisor")
    sent = supervisor.post("/surveys", {**SURVEY, **changes})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    return supervisor, sent.headers["Location"]


def counts_on(page: str, question: str) -> list[int]:
    section = page.split(f'data-question="{question}"')[1].split("</section>")[0]
    return [int(count) for count in re.findall(r'data-count="(\d+)"', section)]


@pytest.fixture
def survey_staff(app: Flask, staff: Staff) -> Staff:
    """The staff, with the shipped forms folder (its survey_*.json) as production has it."""
    app.config["FORMS_DIR"] = ROOT / "forms"
    return staff


def test_a_survey_link_answered_twice_counts_once(app: Flask, survey_staff: Staff) -> None:
    supervisor, results_url = send_survey(app)
    link = survey_link_texted_to(OWNER_PHONE)
    owner = Browser(app.test_client())
    page = owner.get(link)
    assert page.status_code == 200 and "社区活动与服务满意度调查" in page.get_data(as_text=True)

    first = owner.post(link, ANSWER)
    assert first.status_code == 200 and "已提交" in first.get_data(as_text=True)
    again = owner.post(link, {**ANSWER, "overall": "very_dissatisfied"})
    assert again.status_code == 200 and "您已填写过本问卷" in again.get_data(as_text=True)
    assert "您已填写过本问卷" in owner.get(link).get_data(as_text=True)

    results = supervisor.get(results_url).get_data(as_text=True)
    assert "已发给 2 位业主" in results and "1 位已填写" in results
    assert counts_on(results, "overall") == [0, 1, 0, 0, 0]  # the second answer (very dissatisfied) is not counted
    assert counts_on(results, "joined_activity") == [1, 0]
    assert "多办健康讲座" in results


def test_each_owner_answers_with_their_own_link_and_the_results_add_up(app: Flask, survey_staff: Staff) -> None:
    supervisor, results_url = send_survey(app)
    for phone, overall in ((OWNER_PHONE, "satisfied"), (NEIGHBOUR_PHONE, "very_satisfied")):
        owner = Browser(app.test_client())
        link = survey_link_texted_to(phone)
        owner.get(link)
        assert owner.post(link, {**ANSWER, "overall": overall}).status_code == 200
    results = supervisor.get(results_url).get_data(as_text=True)
    assert counts_on(results, "overall") == [1, 1, 0, 0, 0]
    assert "2 位已填写" in results


def test_a_survey_sent_to_one_building_texts_only_its_owners(app: Flask, survey_staff: Staff) -> None:
    send_survey(app, building="1栋")
    survey_link_texted_to(NEIGHBOUR_PHONE)
    db.session.remove()
    assert db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == OWNER_PHONE)).all() == []
