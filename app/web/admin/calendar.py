"""The working calendar (工作日历): holidays and make-up working days that override the chinese-calendar package."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.models.calendar import OVERRIDE_KINDS
from app.services.errors import InvalidFormError
from app.services.runtime import Runtime
from app.services.working_calendar import (
    add_override,
    calendar_overview,
    remove_override,
    unknown_years,
    years_to_watch,
)
from app.web.admin import ADMIN, admin, require_roles

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _runtime() -> Runtime:
    return current_app.extensions["kefu"]


def _today() -> date:
    runtime = _runtime()
    return runtime.clock.now().astimezone(ZoneInfo(runtime.timezone)).date()


def _year_shown(today: date) -> int:
    year = request.values.get("year", "")
    return int(year) if year.isdigit() and FIRST_YEAR <= int(year) <= LAST_YEAR else today.year


def _page(year: int, today: date, *, errors: dict[str, str] | None = None,
          given: dict[str, str] | None = None) -> str:
    return render_template("admin/calendar.html", overview=calendar_overview(year, today), today=today,
                           office_hours=_runtime().calendar.office_hours.describe(), kinds=OVERRIDE_KINDS,
                           errors=errors or {}, given=given or {}, years=range(today.year - 1, today.year + 3),
                           format_date=format_date)


@admin.context_processor
def calendar_flag() -> dict[str, Any]:
    """For the admin menu: this year or the next unknown to the calendar (asked only when the menu shows it)."""
    return {"unknown_calendar_years": lambda: unknown_years(years_to_watch(_today()))}


@admin.get("/calendar")
@require_roles(ADMIN)
def working_calendar() -> str:
    today = _today()
    return _page(_year_shown(today), today)


@admin.post("/calendar")
@require_roles(ADMIN)
def add_calendar_day() -> Any:
    today, form = _today(), request.form
    try:
        override = add_override(form.get("day", ""), form.get("kind", ""), form.get("name", ""),
                                user=current_user.principal, clock=_runtime().clock)
    except InvalidFormError as exc:
        given = {name: form.get(name, "") for name in ("day", "kind", "name")}
        return _page(_year_shown(today), today, errors=exc.errors, given=given), 422
    flash(_("%(day)s saved.", day=override.day.isoformat()), "success")
    return redirect(url_for("admin.working_calendar", year=override.day.year))


@admin.post("/calendar/<int:override_id>/remove")
@require_roles(ADMIN)
def remove_calendar_day(override_id: int) -> Response:
    removed = remove_override(override_id)
    flash(_("%(day)s removed: the holiday library decides this day again.", day=removed.day.isoformat()), "success")
    return redirect(url_for("admin.working_calendar", year=removed.day.year))
