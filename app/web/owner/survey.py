"""A survey on the owner pages (客户活动调查): opened and answered with the texted link alone, no other sign-in.

The link's token names the survey and the owner's phone; the first answer counts, a second visit shows
"已提交". The form is drawn by the one renderer's field model (``form_fields``) in the owner pages' style.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, render_template, request
from werkzeug.datastructures import MultiDict

from app.services.outreach import callback_surveys, surveys
from app.web.context import runtime
from app.web.errors import FORM_REFUSALS, refused
from app.web.form_fields import fields_for, parse_submission
from app.web.i18n import bilingual, say, select_locale


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def survey_page(token: str) -> Any:
    invited = surveys.invitation(token, secret=_secret())
    if invited.answered:
        return _render(invited, {}, {}, submitted=True)
    if request.method == "GET":
        return _render(invited, {}, {})
    rt = runtime()
    try:
        answers = parse_submission(invited.survey.form, request.form, MultiDict(), _no_uploads, rt.timezone)
        if invited.survey.callback_plan_id is not None:  # a planned callback's: the answer is the call's outcome
            recorded = callback_surveys.answer_callback_survey(rt, invited, answers)
        else:
            recorded = surveys.answer_survey(token, answers, secret=_secret(), now=rt.clock.now(),
                                             today=rt.clock.now().astimezone(ZoneInfo(rt.timezone)).date())
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        flash(say(exc.message), "danger")
        return _render(invited, request.form, errors), status
    return _render(invited, {}, {}, submitted=True, just_now=recorded)


def _no_uploads(content: bytes, suffix: str) -> str:
    raise ValueError("a survey takes no upload")  # refused when the survey is sent: never reached


def _render(invited: surveys.Invitation, values: Any, errors: dict[str, str], *, submitted: bool = False,
            just_now: bool = False) -> str:
    locale = select_locale()
    form = invited.survey.form
    return render_template("owner/survey.html", survey=invited.survey, submitted=submitted, just_now=just_now,
                           heading=bilingual(surveys.form_title(form, invited.survey.title), locale),
                           intro=bilingual(form.get("description"), locale),
                           fields=fields_for(form, dict(values), errors, locale), errors=errors)
