"""The Tencent Cloud and Alibaba Cloud senders, through their own SDKs with only the HTTP call replaced.

Both SDKs end in ``requests.Session.send``; ``carrier`` stands in for the provider there, keeps every request
and answers as the provider would. A provider's refusal is retried with the outbox's back-off, then failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sqlalchemy import select

from app.config import ConfigError, load_config
from app.extensions import db
from app.models.jobs import OutboxMessage
from app.services.jobs.notifications import LogSender, deliver_outbox, queue_text, send_sms
from app.services.jobs.sms_senders import AliyunSmsSender, TencentSmsSender, sender_from_config
from app.services.jobs.sms_templates import TEMPLATES
from app.services.steps.plan import step_transaction
from tests.services.test_sms_templates import sample_params

OWNER = "13812345678"
TEMPLATE_IDS = {key: str(1_000_001 + index) for index, key in enumerate(sorted(TEMPLATES))}
TENCENT_ENV = {"KEFU_SMS_PROVIDER": "tencent", "KEFU_SMS_APP_ID": "1400123456", "KEFU_SMS_SIGNATURE": "阳光物业",
               "TENCENTCLOUD_SECRET_ID": "AKIDtest", "TENCENTCLOUD_SECRET_KEY": "tencent-secret"}
ALIYUN_ENV = {"KEFU_SMS_PROVIDER": "aliyun", "KEFU_SMS_SIGNATURE": "阳光物业",
              "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAItest", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "aliyun-secret"}


class Carrier:
    """The provider's HTTP end: records each request and answers with ``answer`` (or raises ``down``)."""

    def __init__(self) -> None:
        self.requests: list[requests.PreparedRequest] = []
        self.answer: dict[str, Any] = {}
        self.down = 0  # how many more requests fail on the network

    def send(self, session: requests.Session, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        self.requests.append(request)
        if self.down:
            self.down -= 1
            raise requests.ConnectionError("connection reset by peer")
        response = requests.Response()
        response.status_code, response.reason, response.url = 200, "OK", request.url
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(self.answer).encode()
        return response

    def tencent_request(self) -> dict[str, Any]:
        request = self.requests[-1]
        assert request.headers["X-TC-Action"] == "SendSms" and "AKIDtest" in request.headers["Authorization"]
        return dict(json.loads(request.body or b"{}"))

    def aliyun_request(self) -> dict[str, str]:
        request = self.requests[-1]
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        fields = dict(parse_qsl(urlsplit(request.url or "").query)) | dict(parse_qsl(body))
        assert request.headers["x-acs-action"] == "SendSms"
        assert "Credential=LTAItest," in request.headers["Authorization"]
        return fields


def tencent_answer(code: str = "Ok", message: str = "send success") -> dict[str, Any]:
    return {"Response": {"RequestId": "r-1", "SendStatusSet": [
        {"SerialNo": "2019:1", "PhoneNumber": f"+86{OWNER}", "Fee": 1, "SessionContext": "", "Code": code,
         "Message": message, "IsoCode": "CN"}]}}


def aliyun_answer(code: str = "OK", message: str = "OK") -> dict[str, Any]:
    return {"Code": code, "Message": message, "BizId": "900619746936498440^0", "RequestId": "r-1"}


@pytest.fixture
def carrier(monkeypatch: pytest.MonkeyPatch) -> Carrier:
    fake = Carrier()

    def send(session: requests.Session, request: requests.PreparedRequest, **options: Any) -> requests.Response:
        return fake.send(session, request, **options)

    monkeypatch.setattr(requests.Session, "send", send)
    return fake


@pytest.fixture
def settings_from(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], dict[str, Any]]]:
    """The app's settings as ``load_config`` reads them from this environment (and the template ids)."""
    def read(env: dict[str, str]) -> dict[str, Any]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for key, template_id in TEMPLATE_IDS.items():
            monkeypatch.setenv(f"KEFU_SMS_TEMPLATE_{key.upper()}", template_id)
        return load_config({"KEFU_ENV": "testing"})
    yield read


def queue(clock, template: str, params: dict[str, str] | None = None) -> None:
    with step_transaction():
        queue_text(OWNER, template, sample_params(template) if params is None else params, now=clock.now())


def the_message() -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage)).one()


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_tencent_gets_the_number_in_plus86_form_the_template_id_its_parameters_in_order_and_the_signature(
        app, clock, carrier, settings_from, key):
    sender = sender_from_config(settings_from(TENCENT_ENV))
    carrier.answer = tencent_answer()
    queue(clock, key)

    assert deliver_outbox(sender, now=clock.now()) == (1, 0)
    assert carrier.tencent_request() == {
        "PhoneNumberSet": ["+8613812345678"], "SmsSdkAppId": "1400123456", "SignName": "阳光物业",
        "TemplateId": TEMPLATE_IDS[key], "TemplateParamSet": list(sample_params(key).values())}
    assert the_message().status == "sent"


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_aliyun_gets_the_number_in_plus86_form_the_template_code_its_parameters_by_name_and_the_signature(
        app, clock, carrier, settings_from, key):
    sender = sender_from_config(settings_from(ALIYUN_ENV))
    carrier.answer = aliyun_answer()
    queue(clock, key)

    assert deliver_outbox(sender, now=clock.now()) == (1, 0)
    sent = carrier.aliyun_request()
    assert (sent["PhoneNumbers"], sent["SignName"], sent["TemplateCode"]) == ("+8613812345678", "阳光物业",
                                                                              TEMPLATE_IDS[key])
    assert list(json.loads(sent["TemplateParam"]).items()) == list(sample_params(key).items())
    assert the_message().status == "sent"


@pytest.mark.parametrize(("env", "refusal", "error"), [
    (TENCENT_ENV, tencent_answer("LimitExceeded.PhoneNumberDailyLimit", "daily limit"),
     "Tencent SMS LimitExceeded.PhoneNumberDailyLimit: daily limit"),
    (ALIYUN_ENV, aliyun_answer("isv.BUSINESS_LIMIT_CONTROL", "触发流控"),
     "Aliyun SMS isv.BUSINESS_LIMIT_CONTROL: 触发流控"),
])
def test_a_text_the_provider_refuses_is_retried_with_back_off_then_marked_failed_with_its_answer(
        app, clock, carrier, settings_from, env, refusal, error):
    sender = sender_from_config(settings_from(env))
    carrier.answer = refusal
    queue(clock, "work_done")

    assert deliver_outbox(sender, now=clock.now()) == (0, 1)
    assert deliver_outbox(sender, now=clock.now()) == (0, 0)  # waiting out its back-off
    for _ in range(6):
        clock.advance(timedelta(hours=3))
        deliver_outbox(sender, now=clock.now())
    message = the_message()
    assert (message.status, message.attempts, message.last_error) == ("failed", 5, error)
    assert len(carrier.requests) == 5


@pytest.mark.parametrize("env", [TENCENT_ENV, ALIYUN_ENV], ids=["tencent", "aliyun"])
def test_a_provider_out_of_reach_is_tried_again_and_the_text_goes_when_it_answers(app, clock, carrier, settings_from,
                                                                                  env):
    sender = sender_from_config(settings_from(env))
    carrier.answer = tencent_answer() if env is TENCENT_ENV else aliyun_answer()
    carrier.down = 1
    queue(clock, "work_done")

    assert deliver_outbox(sender, now=clock.now()) == (0, 1)
    clock.advance(timedelta(minutes=1))
    assert deliver_outbox(sender, now=clock.now()) == (1, 0)
    assert (the_message().status, the_message().attempts) == ("sent", 2)


def test_an_old_free_text_is_failed_at_once_by_a_provider_that_takes_templates_only(app, clock, carrier,
                                                                                    settings_from):
    sender = sender_from_config(settings_from(TENCENT_ENV))
    with step_transaction():
        send_sms(OWNER, "【客服中心】没有模板的旧短信", now=clock.now())

    deliver_outbox(sender, now=clock.now())
    message = the_message()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "approved templates only" in (message.last_error or "")
    assert carrier.requests == []


def test_the_provider_is_chosen_by_the_environment_alone(app, settings_from):
    assert isinstance(sender_from_config(load_config({"KEFU_ENV": "testing"})).sms, LogSender)  # the default
    assert isinstance(sender_from_config(settings_from(TENCENT_ENV)).sms, TencentSmsSender)
    assert isinstance(sender_from_config(settings_from(ALIYUN_ENV)).sms, AliyunSmsSender)


def test_a_real_provider_without_its_keys_and_template_ids_names_every_missing_variable(monkeypatch):
    monkeypatch.setenv("KEFU_SMS_PROVIDER", "tencent")
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "KEFU_SMS_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KEFU_SMS_TEMPLATE_WORK_DONE", "1000001")
    with pytest.raises(ConfigError) as missing:
        sender_from_config(load_config({"KEFU_ENV": "testing"}))
    said = str(missing.value)
    assert "TENCENTCLOUD_SECRET_ID" in said and "TENCENTCLOUD_SECRET_KEY" in said and "KEFU_SMS_APP_ID" in said
    assert "KEFU_SMS_TEMPLATE_OWNER_LOGIN_CODE" in said and "KEFU_SMS_TEMPLATE_WORK_DONE" not in said


def test_an_unknown_provider_stops_the_start_with_the_ones_there_are(monkeypatch):
    monkeypatch.setenv("KEFU_SMS_PROVIDER", "twilio")
    with pytest.raises(ConfigError, match="log, tencent, aliyun"):
        load_config({"KEFU_ENV": "testing"})
