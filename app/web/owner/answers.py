"""The owner's answers from the phone: confirm or move the visit, agree to or refuse the quote, sign the
acceptance, rate the service. Each page shows only what the ticket's flow waits for; each POST is one
service call (services/owners/answers.py), one transaction. Another owner's ticket is a 404; an answer the
flow no longer waits for, or the same answer twice, is a 409 (the error page says so)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from app.services.errors import ConflictError, ServiceError, msg
from app.services.owners import answers
from app.web.context import runtime
from app.web.errors import FORM_REFUSALS, refused
from app.web.form_fields import Uploads, parse_submission
from app.web.owner.context import owner_required, the_owner

# The fields the shared parser reads: the wished time (business time), the drawn signature.
MOVE_FIELDS = {"properties": {"wish": {"type": "string", "format": "date-time"}}}
SIGN_FIELDS = {"properties": {"signature": {"type": "string", "x-widget": "signature"}}}
SATISFACTION_LABELS = (
    ("very_satisfied", lazy_gettext("Very satisfied")), ("satisfied", lazy_gettext("Satisfied")),
    ("neutral", lazy_gettext("Neutral")), ("dissatisfied", lazy_gettext("Dissatisfied")),
    ("very_dissatisfied", lazy_gettext("Very dissatisfied")),
)
PAYMENT_LABELS = (
    ("mobile", lazy_gettext("WeChat or Alipay")), ("cash", lazy_gettext("Cash")),
    ("bank_transfer", lazy_gettext("Bank transfer")), ("fee_bill", lazy_gettext("With the property fee bill")),
)
Page = str | tuple[str, int] | Response


def answer_helpers() -> dict[str, Any]:
    """What the ticket page may call: the questions the flow asks the owner now."""
    return {"owner_questions": lambda number: answers.questions_for(runtime(), the_owner(), number)}


@owner_required
def confirm_appointment(number: str) -> Response:
    answers.confirm_appointment(runtime(), the_owner(), number)
    flash(_("Thank you: the visit is confirmed."), "success")
    return redirect(url_for("owner.ticket", number=number))


@owner_required
def move_appointment(number: str) -> Page:
    questions = _asked(number, lambda q: q.can_move)
    if request.method == "GET":
        return render_template("owner/answer_move.html", questions=questions, values={}, errors={})
    try:
        parsed = parse_submission(MOVE_FIELDS, request.form, request.files, Uploads(current_app.config["UPLOAD_DIR"]),
                                  runtime().timezone)
        answers.move_appointment(runtime(), the_owner(), number, parsed.get("wish"), request.form.get("reason"))
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return render_template("owner/answer_move.html", questions=questions, values=request.form,
                               errors=errors), status
    flash(_("Your technician will call you to agree another time."), "success")
    return redirect(url_for("owner.ticket", number=number))


@owner_required
def quote(number: str) -> Page:
    questions = _asked(number, lambda q: q.quote is not None)
    if request.method == "GET":
        return _quote_page(questions, {}, {})
    decision = request.form.get("decision")
    try:
        answers.answer_quote(runtime(), the_owner(), number,
                             agrees={"agree": True, "refuse": False}.get(decision or ""),
                             reason=request.form.get("reason"), payment_method=request.form.get("payment_method"))
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _quote_page(questions, request.form, errors), status
    flash(_("Thank you: the repair goes ahead.") if decision == "agree"
          else _("Your technician will talk the quote over with you."), "success")
    return redirect(url_for("owner.ticket", number=number))


@owner_required
def sign(number: str) -> Page:
    questions = _asked(number, lambda q: q.can_sign)
    if request.method == "GET":
        return render_template("owner/answer_sign.html", questions=questions, errors={})
    uploads = Uploads(current_app.config["UPLOAD_DIR"])
    try:
        parsed = parse_submission(SIGN_FIELDS, request.form, request.files, uploads, runtime().timezone)
        answers.sign_acceptance(runtime(), the_owner(), number, parsed.get("signature"))
    except FORM_REFUSALS as exc:
        uploads.discard()
        errors, status = refused(exc)
        return render_template("owner/answer_sign.html", questions=questions, errors=errors), status
    except ServiceError:
        uploads.discard()
        raise
    flash(_("Thank you: the repair is accepted with your signature."), "success")
    return redirect(url_for("owner.ticket", number=number))


@owner_required
def rate(number: str) -> Page:
    questions = _asked(number, lambda q: q.can_rate)
    if request.method == "GET":
        return _rate_page(questions, {}, {})
    try:
        answers.rate_service(runtime(), the_owner(), number, request.form.get("satisfaction"),
                             request.form.get("comment"))
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _rate_page(questions, request.form, errors), status
    flash(_("Thank you for rating our service."), "success")
    return redirect(url_for("owner.ticket", number=number))


def _asked(number: str, asks: Any) -> answers.Questions:
    """The ticket's questions (404 for another owner's ticket); 409 when the flow does not ask this now."""
    questions = answers.questions_for(runtime(), the_owner(), number)
    if not asks(questions):
        raise ConflictError(msg("this is no longer waiting for your answer"))
    return questions


def _quote_page(questions: answers.Questions, values: Any, errors: dict[str, Any]) -> str:
    return render_template("owner/answer_quote.html", questions=questions, values=values, errors=errors,
                           payments=PAYMENT_LABELS)


def _rate_page(questions: answers.Questions, values: Any, errors: dict[str, Any]) -> str:
    return render_template("owner/answer_rate.html", questions=questions, values=values, errors=errors,
                           levels=SATISFACTION_LABELS)
