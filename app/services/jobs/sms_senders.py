"""The senders the worker delivers the outbox with, chosen by settings alone.

Texts: ``KEFU_SMS_PROVIDER`` = ``log`` (the default: the rendered Chinese text goes to the log), ``tencent``
(Tencent Cloud SMS) or ``aliyun`` (Alibaba Cloud SMS). A real provider sends the row's template id
(``KEFU_SMS_TEMPLATE_<KEY>``) and parameters under the registered signature (``KEFU_SMS_SIGNATURE``); its keys
are read from the environment here, when the worker starts, and nowhere else. E-mail goes through SMTP when
``SMTP_HOST`` is set, else to the log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.config import ConfigError
from app.services.jobs.notifications import (
    LogSender,
    OutgoingMessage,
    Sender,
    SmtpSender,
    UndeliverableError,
    mobile_digits,
)
from app.services.jobs.sms_templates import TEMPLATES

TIMEOUT_SECONDS = 10
SECRET_ENV = {"tencent": ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"),
              "aliyun": ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")}
DEFAULT_REGION = {"tencent": "ap-guangzhou", "aliyun": "cn-hangzhou"}
ALIYUN_ENDPOINT = "dysmsapi.aliyuncs.com"
# The SDKs are imported by the sender that uses them: they pull in aiohttp, cryptography and more, which the web
# processes and a log-sender worker never need.


class SmsProviderError(RuntimeError):
    """The provider refused a text (its code and message); the outbox retries it with back-off."""


@dataclass(frozen=True)
class SmsAccount:
    """What a real provider needs: settings from config, keys from the environment."""

    provider: str
    signature: str
    region: str
    app_id: str
    template_ids: Mapping[str, str]
    key_id: str
    key_secret: str


def sender_from_config(config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Sender:
    """The worker's sender: texts by ``SMS_PROVIDER``, e-mail by ``SMTP_HOST``.

    Raise ConfigError naming every missing environment variable when a real provider is chosen.
    """
    email: Sender = LogSender()
    if config.get("SMTP_HOST"):
        email = SmtpSender(config["SMTP_HOST"], int(config.get("SMTP_PORT", 25)),
                           config.get("SMTP_FROM", "kefu@localhost"))
    provider = str(config.get("SMS_PROVIDER") or "log")
    sms: Sender = LogSender()
    if provider == "tencent":
        sms = TencentSmsSender(sms_account(config, environ))
    elif provider == "aliyun":
        sms = AliyunSmsSender(sms_account(config, environ))
    return ChannelSender(sms=sms, email=email)


def sms_account(config: Mapping[str, Any], environ: Mapping[str, str]) -> SmsAccount:
    """The chosen provider's account; raise ConfigError listing what is missing."""
    provider = str(config["SMS_PROVIDER"])
    key_id_name, key_secret_name = SECRET_ENV[provider]
    template_ids = dict(config.get("SMS_TEMPLATE_IDS") or {})
    missing = [name for name in (key_id_name, key_secret_name) if not environ.get(name)]
    if provider == "tencent" and not config.get("SMS_APP_ID"):
        missing.append("KEFU_SMS_APP_ID (the SmsSdkAppId)")
    if not config.get("SMS_SIGNATURE"):
        missing.append("KEFU_SMS_SIGNATURE")
    missing += [f"KEFU_SMS_TEMPLATE_{key.upper()}" for key in TEMPLATES if not template_ids.get(key)]
    if missing:
        raise ConfigError(f"KEFU_SMS_PROVIDER={provider} needs these environment variables: {', '.join(missing)}. "
                          "The keys are read from the environment only; the template ids are those the "
                          "provider approved for each template (see README, Texts to owners).")
    return SmsAccount(provider, str(config["SMS_SIGNATURE"]), str(config.get("SMS_REGION") or DEFAULT_REGION[provider]),
                      str(config.get("SMS_APP_ID") or ""), template_ids, environ[key_id_name], environ[key_secret_name])


class ChannelSender:
    """Texts to the SMS sender, e-mail to the e-mail sender."""

    def __init__(self, *, sms: Sender, email: Sender) -> None:
        self.sms, self.email = sms, email

    def send(self, message: OutgoingMessage) -> None:
        (self.email if message.channel == "email" else self.sms).send(message)


def international(phone: str) -> str:
    """A mainland mobile in the +86 form the providers take; UndeliverableError for anything else."""
    digits = mobile_digits(phone)
    if digits is None:
        raise UndeliverableError(f"{phone} is not a mainland mobile number")
    return f"+86{digits}"


def template_values(message: OutgoingMessage) -> tuple[str, list[str]]:
    """The row's template key and its parameters in the template's order; UndeliverableError for free text."""
    if not message.template or message.template not in TEMPLATES:
        raise UndeliverableError("a free text without an SMS template: carriers deliver approved templates only")
    params = message.params or {}
    return message.template, [str(params.get(name, "")) for name in TEMPLATES[message.template].params]


class TencentSmsSender:
    """Tencent Cloud SMS (SendSms, API 2021-01-11): template parameters as a list in the template's order."""

    def __init__(self, account: SmsAccount) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        self.account = account
        profile = ClientProfile(httpProfile=HttpProfile(reqTimeout=TIMEOUT_SECONDS))
        self.client = sms_client.SmsClient(credential.Credential(account.key_id, account.key_secret),
                                           account.region, profile)

    def send(self, message: OutgoingMessage) -> None:
        from tencentcloud.sms.v20210111 import models

        key, values = template_values(message)
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [international(message.recipient)]
        request.SmsSdkAppId = self.account.app_id
        request.SignName = self.account.signature
        request.TemplateId = self.account.template_ids[key]
        request.TemplateParamSet = values
        statuses = self.client.SendSms(request).SendStatusSet or []
        refused = [status for status in statuses if status.Code != "Ok"]
        if refused or not statuses:
            status = refused[0] if refused else None
            raise SmsProviderError(f"Tencent SMS {status.Code if status else 'no status'}: "
                                   f"{status.Message if status else ''}")


class AliyunSmsSender:
    """Alibaba Cloud SMS (Dysmsapi 2017-05-25 SendSms): template parameters as a JSON object by name."""

    def __init__(self, account: SmsAccount) -> None:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        self.account = account
        self.client = Client(Config(access_key_id=account.key_id, access_key_secret=account.key_secret,
                                    region_id=account.region, endpoint=ALIYUN_ENDPOINT))

    def send(self, message: OutgoingMessage) -> None:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from darabonba.runtime import RuntimeOptions

        key, values = template_values(message)
        request = SendSmsRequest(phone_numbers=international(message.recipient), sign_name=self.account.signature,
                                 template_code=self.account.template_ids[key],
                                 template_param=json.dumps(dict(zip(TEMPLATES[key].params, values, strict=True)),
                                                           ensure_ascii=False))
        runtime = RuntimeOptions(connect_timeout=TIMEOUT_SECONDS * 1000, read_timeout=TIMEOUT_SECONDS * 1000)
        body = self.client.send_sms_with_options(request, runtime).body
        if body is None or body.code != "OK":
            raise SmsProviderError(f"Aliyun SMS {getattr(body, 'code', 'no answer')}: {getattr(body, 'message', '')}")
