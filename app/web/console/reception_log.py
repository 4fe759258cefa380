"""The daily reception log (每日业户接待情况表): a day's calls of one project, printable on one A4 landscape page,
exported as CSV or XLSX with Chinese headers, and the CS supervisor's daily check recorded on it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services.access import may_watch_wallboard
from app.services.errors import InvalidFormError
from app.services.people.organisation import projects_for
from app.services.work import reception_log as log_service
from app.services.work.inbox import mask_phone
from app.web.context import me, require, runtime
from app.web.errors import status_of
from app.web.i18n import said_errors, select_locale
from app.web.labels import code_label
from app.web.templating import business_time

EXPORTS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@require(may_watch_wallboard)
def reception_log() -> Any:
    day, project_key = _day_and_project()
    return _render(day, project_key, note="", errors={})


@require(may_watch_wallboard)
def export_reception_log(kind: str) -> Response:
    if kind not in EXPORTS:
        abort(404)
    day, project_key = _day_and_project()
    header, rows = _table(day, project_key)
    name = f"reception-log-{project_key}-{day.isoformat()}.{kind}"
    body = (log_service.table_csv(header, rows) if kind == "csv"
            else log_service.table_xlsx(header, rows, sheet_name=day.isoformat()))
    return Response(body, mimetype=EXPORTS[kind].split(";")[0], content_type=EXPORTS[kind],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@require(may_watch_wallboard)
def check_reception_log() -> Any:
    day, project_key = _day_and_project(request.form)
    note = request.form.get("note", "")
    try:
        log_service.record_check(day, project_key, note, user=me(), now=runtime().clock.now(),
                                 timezone=runtime().timezone)
    except InvalidFormError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _render(day, project_key, note=note, errors=said_errors(exc.errors), status=status_of(exc))
    flash(_("The day's front desk check is recorded."), "success")
    return redirect(url_for("console.reception_log", day=day.isoformat(), project=project_key))


def _day_and_project(given: Any = None) -> tuple[date, str]:
    """The day asked for (default today; a wrong date is a 400) and the project (default my first one)."""
    given = given if given is not None else request.args
    text = given.get("day", "")
    try:
        day = date.fromisoformat(text) if text else log_service.day_of(runtime().clock.now(), runtime().timezone)
    except ValueError:
        abort(400, _("Dates are written as YYYY-MM-DD."))
    projects = projects_for(me())
    project_key = given.get("project", "") or (projects[0].key if projects else "")
    return day, project_key


def _render(day: date, project_key: str, *, note: str, errors: dict[str, str], status: int = 200) -> Any:
    rows = log_service.receptions(day, project_key, user=me(), timezone=runtime().timezone)
    return render_template("wallboard/reception_log.html", day=day, project_key=project_key, rows=rows,
                           projects=projects_for(me()), check=log_service.check_of(day, project_key),
                           header=_header(), cells=[_cells(row) for row in rows], note=note, errors=errors,
                           exports=tuple(EXPORTS)), status


def _header() -> list[str]:
    return [_("Time"), _("Ticket"), _("Caller"), _("Phone"), _("Unit"), _("Matter"), _("Category"),
            _("Recorded by"), _("Handled by"), _("Handling result")]


def _cells(row: log_service.Reception) -> list[str]:
    locale = select_locale()
    if row.attached:
        result = _("Repeated call, attached to the ticket")
    elif row.outcome:
        result = code_label("outcome", row.outcome, locale)
    else:
        result = code_label("stage", row.stage, locale)
    return [business_time(row.at, "HH:mm"), row.ticket_number, row.caller, mask_phone(row.phone), row.unit, row.matter,
            code_label("category", row.category, locale), row.recorded_by,
            code_label("department", row.department, locale) if row.department else "—", result]


def _table(day: date, project_key: str) -> tuple[list[str], list[list[str]]]:
    rows = log_service.receptions(day, project_key, user=me(), timezone=runtime().timezone)
    return _header(), [_cells(row) for row in rows]
