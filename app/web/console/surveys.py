"""Surveys (客户活动调查) for the CS supervisor: send a survey form to the owners of a project, a building or some
units by a text link; the results charted per question; the answers exported as CSV or XLSX (Chinese headers)."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from app.services.access import may_watch_wallboard
from app.services.errors import InvalidFormError
from app.services.outreach import surveys
from app.services.people.organisation import projects_for
from app.web.context import me, require, runtime
from app.web.i18n import bilingual, said_errors, select_locale
from app.web.outreach import TABLE_TYPES, table_download


@require(may_watch_wallboard)
def surveys_page() -> str:
    return _list_page(surveys.SurveyRequest("", "", ""), {})


@require(may_watch_wallboard)
def send_survey() -> WerkzeugResponse | tuple[str, int]:
    form = request.form
    asked = surveys.SurveyRequest(
        title=form.get("title", ""), form_key=form.get("form_key", ""), project_key=form.get("project", ""),
        building=form.get("building", "").strip() or None,
        unit_codes=_unit_codes(form.get("units", "")),
        closes_on=form.get("closes_on", ""))
    try:
        sent = surveys.send_survey(
            asked, forms_dir=current_app.config["FORMS_DIR"], user=me(), now=runtime().clock.now(),
            secret=str(current_app.config["SECRET_KEY"]),
            link_for=lambda token: url_for("owner.survey_page", token=token, _external=True))
    except InvalidFormError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _list_page(asked, said_errors(exc.errors)), 422
    flash(_("The survey was sent to %(texted)s of %(recipients)s owners (the others have no mobile number).",
            texted=sent.texted, recipients=sent.recipients), "success")
    return redirect(url_for("console.survey_results", survey_id=sent.survey_id))


@require(may_watch_wallboard)
def survey_results(survey_id: int) -> str:
    locale = select_locale()
    results = surveys.survey_results(survey_id, user=me())
    charts = [{"name": question.name, "labels": [bilingual(label, locale) for label, _count in question.counts],
               "counts": [count for _label, count in question.counts]}
              for question in results.questions if question.kind == "choice"]
    return render_template("outreach/survey_results.html", results=results, charts=charts,
                           title=lambda text: bilingual(text, locale))


@require(may_watch_wallboard)
def export_survey(survey_id: int, kind: str) -> Response:
    if kind not in TABLE_TYPES:
        abort(404)
    header, rows = surveys.results_table(survey_id, user=me(), timezone=runtime().timezone,
                                         label=lambda text: bilingual(text, "zh"))  # Chinese headers and choices
    return table_download(header, rows, name=f"survey-{survey_id}", kind=kind)


def _list_page(asked: surveys.SurveyRequest, errors: dict[str, str]) -> str:
    locale = select_locale()
    forms = surveys.survey_forms(current_app.config["FORMS_DIR"])
    return render_template(
        "outreach/surveys.html", asked=asked, errors=errors, projects=projects_for(me()),
        forms={name: bilingual(surveys.form_title(form, name), locale) for name, form in forms.items()},
        rows=surveys.surveys(user=me()))


def _unit_codes(typed: str) -> tuple[str, ...]:
    """Unit codes typed one a line or separated by commas (Chinese or Latin)."""
    return tuple(code.strip() for code in typed.replace("，", ",").replace("\n", ",").split(",") if code.strip())
