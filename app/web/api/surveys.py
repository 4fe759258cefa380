"""Surveys (客户活动调查), as the console's /surveys pages: the survey forms, a survey sent to the owners of a
project, a building or some units by a text link, the surveys sent, the results per question, the answers
exported as CSV or XLSX (Chinese headers)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for

from app.services.access import may_watch_wallboard
from app.services.errors import InvalidRequestError, msg
from app.services.outreach import surveys
from app.web.api.blueprint import (
    allowed_user,
    api,
    json_data_body,
    next_cursor,
    page_limit,
    page_start,
    text_field,
)
from app.web.api.serializers import iso
from app.web.context import runtime
from app.web.i18n import bilingual, select_locale
from app.web.outreach import table_download


@api.get("/survey-forms")
def list_survey_forms() -> dict[str, Any]:
    """The forms a survey may use (``survey_*.json``, shipped or from the designer), with their questions."""
    allowed_user(may_watch_wallboard)
    locale = select_locale()
    forms = surveys.survey_forms(current_app.config["FORMS_DIR"])
    return {"items": [{"key": key, "title": bilingual(surveys.form_title(form, key), locale), "form": form}
                      for key, form in forms.items()], "next": None}


@api.get("/surveys")
def list_surveys() -> dict[str, Any]:
    user = allowed_user(may_watch_wallboard)
    limit, start = page_limit(), page_start()
    rows = surveys.surveys(user=user, limit=limit + 1, offset=start)
    return {"items": [_survey_json(survey) | {"recipients": sent, "answered": answered}
                      for survey, sent, answered in rows[:limit]],
            "next": next_cursor(len(rows), limit=limit, start=start)}


def _survey_json(survey: Any) -> dict[str, Any]:
    return {"id": survey.id, "title": survey.title, "form_key": survey.form_key, "project": survey.project_key,
            "building": survey.building, "closes_on": survey.closes_on.isoformat() if survey.closes_on else None,
            "created_at": iso(survey.created_at)}


@api.post("/surveys")
def send_survey() -> tuple[dict[str, Any], int]:
    """Create the survey and text each owner their personal link (one text per phone)."""
    user = allowed_user(may_watch_wallboard)
    data = json_data_body(required=True)
    if not isinstance(data, dict):
        raise InvalidRequestError(msg("check the survey"), errors={"data": msg("must be a JSON object")})
    asked = surveys.SurveyRequest(
        title=text_field(data, "title"), form_key=text_field(data, "form_key"), project_key=text_field(data, "project"),
        building=text_field(data, "building").strip() or None, unit_codes=_unit_codes(data.get("units")),
        closes_on=text_field(data, "closes_on"))
    sent = surveys.send_survey(asked, forms_dir=current_app.config["FORMS_DIR"], user=user,
                               now=runtime().clock.now(),
                               secret=str(current_app.config["SECRET_KEY"]),
                               link_for=lambda token: url_for("owner.survey_page", token=token, _external=True))
    return {"id": sent.survey_id, "recipients": sent.recipients, "texted": sent.texted}, 201


def _unit_codes(given: Any) -> tuple[str, ...]:
    """A list of unit codes, or one text of them separated by commas (Chinese or Latin) or lines."""
    if isinstance(given, list):
        return tuple(code.strip() for code in given if isinstance(code, str) and code.strip())
    if isinstance(given, str):
        return tuple(code.strip() for code in given.replace("，", ",").replace("\n", ",").split(",") if code.strip())
    return ()


@api.get("/surveys/<int:survey_id>")
def survey_results(survey_id: int) -> dict[str, Any]:
    """Sent, texted and answered; per question the count of each choice (or the latest free answers)."""
    user = allowed_user(may_watch_wallboard)
    locale = select_locale()
    results = surveys.survey_results(survey_id, user=user)
    return {**_survey_json(results.survey), "recipients": results.sent, "texted": results.texted,
            "answered": results.answered,
            "questions": [{"name": question.name, "title": bilingual(question.title, locale), "kind": question.kind,
                           "answered": question.answered,
                           "counts": [{"choice": bilingual(label, locale), "count": count}
                                      for label, count in question.counts],
                           "texts": question.texts}
                          for question in results.questions]}


@api.get("/surveys/<int:survey_id>/export.csv")
def export_survey_csv(survey_id: int) -> Response:
    return _export(survey_id, "csv")


@api.get("/surveys/<int:survey_id>/export.xlsx")
def export_survey_xlsx(survey_id: int) -> Response:
    return _export(survey_id, "xlsx")


def _export(survey_id: int, kind: str) -> Response:
    """One row per owner who answered: the unit, the time, each answer; Chinese headers, as the console's."""
    user = allowed_user(may_watch_wallboard)
    header, rows = surveys.results_table(survey_id, user=user, timezone=runtime().timezone,
                                         label=lambda text: bilingual(text, "zh"))
    return table_download(header, rows, name=f"survey-{survey_id}", kind=kind)
