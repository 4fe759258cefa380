"""Texts are approved templates with parameters: listed in one place, checked when queued, rendered in Chinese."""

from __future__ import annotations

import importlib.util
from string import Formatter

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.jobs import OutboxMessage
from app.services.errors import InvalidRequestError
from app.services.jobs.notifications import queue_text
from app.services.jobs.sms_templates import TEMPLATES, render
from app.services.steps.plan import step_transaction
from tests.support.paths import ROOT

# One plausible value per parameter name any template uses.
SAMPLE = {"kind": "报修", "number": "KF-20260302-0001", "time": "03月03日 09:00", "code": "482913", "minutes": "5",
          "url": "https://kefu.example.cn/owner/l/abc", "hours": "72", "category": "报修", "unit": "1-101",
          "count": "2", "project": "阳光花园", "description": "水管爆裂", "phone": "13900000000",
          "title": "停水检修", "window": "12月8日 09:00-12:00"}


def sample_params(key: str) -> dict[str, str]:
    return {name: SAMPLE.get(name, f"示例{name}") for name in TEMPLATES[key].params}  # a new template still gets values


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_names_exactly_the_parameters_its_text_uses(key):
    used = {field for _, field, _, _ in Formatter().parse(TEMPLATES[key].text) if field}
    assert used == set(TEMPLATES[key].params)


def test_a_text_reads_with_the_signature_and_its_parameters_in_place():
    assert render("appointment_agreed", {"number": "KF-20260302-0001", "time": "03月03日 09:00"}) == (
        "【客服中心】工单 KF-20260302-0001：已与您约定 03月03日 09:00 上门，届时请留人在家。")
    assert render("owner_login_code", {"code": "482913", "minutes": 5}) == (
        "【客服中心】您的登录验证码为482913，5分钟内有效，请勿告诉他人。")


def test_the_signature_the_texts_show_is_the_one_set_in_the_environment(monkeypatch):
    monkeypatch.setenv("KEFU_SMS_SIGNATURE", "阳光物业")
    assert render("work_done", {"number": "KF-1"}).startswith("【阳光物业】工单 KF-1 已处理完成")


def test_a_queued_text_keeps_its_template_its_parameters_and_its_rendered_body(app, clock):
    with step_transaction():
        assert queue_text("+86 138-1234-5678", "ticket_received", {"number": "KF-1", "kind": "投诉"}, now=clock.now())
    [message] = outbox()
    assert (message.template, message.params) == ("ticket_received", {"kind": "投诉", "number": "KF-1"})
    assert message.body == "【客服中心】您的投诉已受理，工单号 KF-1。我们将按时处理，如有疑问请致电客服中心。"
    assert (message.channel, message.status) == ("sms", "pending")


@pytest.mark.parametrize(("template", "params", "says"), [
    ("ticket_recieved", {"number": "KF-1", "kind": "报修"}, "no SMS template ticket_recieved"),
    ("ticket_received", {"number": "KF-1"}, "SMS template ticket_received needs kind"),
    ("ticket_received", {"number": "KF-1", "kind": ""}, "SMS template ticket_received needs kind"),
    ("work_done", {"number": "KF-1", "url": "https://x"}, "SMS template work_done takes no url"),
])
def test_a_wrong_template_or_parameter_is_refused_when_queued_and_nothing_is_queued(app, clock, template, params,
                                                                                    says):
    with pytest.raises(InvalidRequestError) as refused, step_transaction():
        queue_text("13812345678", template, params, now=clock.now())
    assert str(refused.value.message) == says
    assert outbox() == []


def test_a_landline_or_no_number_gets_no_text_but_a_wrong_template_is_still_refused(app, clock):
    with step_transaction():
        assert queue_text("0571-88886666", "work_done", {"number": "KF-1"}, now=clock.now()) is False
        assert queue_text(None, "work_done", {"number": "KF-1"}, now=clock.now()) is False
    with pytest.raises(InvalidRequestError):
        queue_text(None, "work_done", {}, now=clock.now())
    assert outbox() == []


def test_the_migration_turns_the_old_free_texts_into_templates_and_leaves_the_rest_alone():
    path = next((ROOT / "migrations" / "versions").glob("*_a1b2c3d40020_*.py"))
    spec = importlib.util.spec_from_file_location("outbox_templates_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    old = "【客服中心】工单 KF-20260302-0001：已与您约定 03月03日 09:00 上门，届时请留人在家。"
    assert migration.template_of_old_text(old) == ("appointment_agreed",
                                                   {"number": "KF-20260302-0001", "time": "03月03日 09:00"})
    assert migration.template_of_old_text("【客服中心】测试") is None
    for key, params in (("staff_night_emergency", sample_params("staff_night_emergency")),
                        ("callback_unreachable", sample_params("callback_unreachable"))):
        assert migration.template_of_old_text(render(key, params)) == (key, params)
