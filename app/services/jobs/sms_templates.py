"""Every text the product sends, in one place: template key → its Chinese text and its parameters.

Chinese carriers deliver only texts sent through a registered signature (签名) and an approved template (模板)
with parameters, so the outbox stores a template key and its parameters, never free text. The Chinese text
here is what the carrier's approved template says; the log sender, the console and ``flask outbox`` show it
rendered (``render``). A provider's own template id comes from the environment
(``KEFU_SMS_TEMPLATE_<KEY>``, see config.py ``SMS_TEMPLATE_IDS``); the parameters go in ``params`` order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.config import sms_signature
from app.services.errors import InvalidRequestError, msg


@dataclass(frozen=True)
class SmsTemplate:
    key: str
    text: str  # with {param} places; the signature is added by the carrier, so it is not part of the text
    params: tuple[str, ...]  # in the order the providers' templates number them ({1}, {2}… at Tencent)
    audience: str  # owner | staff


def _template(key: str, text: str, params: tuple[str, ...], audience: str = "owner") -> SmsTemplate:
    return SmsTemplate(key, text, params, audience)


TEMPLATES: dict[str, SmsTemplate] = {template.key: template for template in (
    # the owner's ticket, from services/jobs/deadlines.py
    _template("ticket_received", "您的{kind}已受理，工单号 {number}。我们将按时处理，如有疑问请致电客服中心。",
              ("kind", "number")),
    _template("appointment_agreed", "工单 {number}：已与您约定 {time} 上门，届时请留人在家。", ("number", "time")),
    _template("work_done", "工单 {number} 已处理完成，我们将回访了解您的意见。", ("number",)),
    _template("callback_thanks", "感谢您接受工单 {number} 的回访，您的意见我们已记录。", ("number",)),
    _template("callback_unreachable", "工单 {number} 回访多次未能联系上您，如有问题请致电客服中心。", ("number",)),
    # the owners' pages (services/owners): sign-in code and personal links
    _template("owner_login_code", "您的登录验证码为{code}，{minutes}分钟内有效，请勿告诉他人。", ("code", "minutes")),
    _template("owner_link", "您的工单{number}有新进展，点击查看：{url}（{hours}小时内有效）",
              ("number", "url", "hours")),
    _template("owner_sign_link", "工单{number}已完工，请点击链接确认验收并签名：{url}", ("number", "url")),
    _template("owner_rating_link", "工单{number}已办结，请点击链接评价本次服务：{url}", ("number", "url")),
    # a notice to the owners of a project, buildings or units (services/outreach/notices.py)
    _template("notice", "{project}通知：{title}（{window}）。详见公告栏、信报箱或业主服务页面。",
              ("project", "title", "window")),
    # surveys (services/outreach/surveys.py): the owner's personal link to the survey page
    _template("survey_link", "{project}邀请您参加业主问卷调查，点击链接填写（约2分钟）：{url}", ("project", "url")),
    # a planned callback by text or e-mail (services/outreach/callback_surveys.py): the callback's survey link
    _template("callback_survey_link",
              "{project}客服中心回访：请点击链接评价我们的服务，有问题也可直接留言（约1分钟）：{url}",
              ("project", "url")),
    # staff mobiles: a chase (services/work/chasing.py) and a night emergency (services/work/reception_alerts.py)
    _template("staff_chased", "催办：{category}工单 {number}（{unit}）业主第 {count} 次来电催办，请尽快处理。",
              ("category", "number", "unit", "count"), "staff"),
    _template("staff_night_emergency",
              "夜间紧急：工单 {number}，{project} {unit}：{description}。来电 {phone}，请立即处理。",
              ("number", "project", "unit", "description", "phone"), "staff"),
)}


def template_of(key: str) -> SmsTemplate:
    """The template ``key``; raise InvalidRequestError for a key that is not listed here."""
    template = TEMPLATES.get(key)
    if template is None:
        raise InvalidRequestError(msg("no SMS template %(template)s", template=key))
    return template


def checked_params(key: str, params: Mapping[str, object]) -> dict[str, str]:
    """The parameters of template ``key`` as strings, in its order; raise InvalidRequestError for an unknown
    template, a missing or empty parameter, or one the template does not take (all at queue time, so a text
    never fails at the carrier for its parameters)."""
    template = template_of(key)
    missing = [name for name in template.params if name not in params or params[name] is None
               or str(params[name]) == ""]
    if missing:
        raise InvalidRequestError(msg("SMS template %(template)s needs %(params)s", template=key,
                                      params=", ".join(missing)))
    extra = sorted(set(params) - set(template.params))
    if extra:
        raise InvalidRequestError(msg("SMS template %(template)s takes no %(params)s", template=key,
                                      params=", ".join(extra)))
    return {name: str(params[name]) for name in template.params}


def words(key: str, params: Mapping[str, object]) -> str:
    """The template's text with its parameters, without the signature (what an agent reads out on the phone).
    Raise InvalidRequestError as ``checked_params``."""
    return TEMPLATES[key].text.format(**checked_params(key, params))


def render(key: str, params: Mapping[str, object], *, signature: str | None = None) -> str:
    """The text as the owner reads it: 【signature】 (``KEFU_SMS_SIGNATURE``, the one the senders sign with)
    then the template's text with its parameters. Raise InvalidRequestError as ``checked_params``."""
    return f"【{signature or sms_signature()}】" + words(key, params)
