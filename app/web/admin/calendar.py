"""The working calendar (工作日历): holidays and make-up working days that override the chinese-calendar package."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.services.access import may_administer
from app.services.errors import InvalidFormError, Message
from app.services.figures.working_calendar import (
    OVERRIDE_KINDS,
    add_override,
    calendar_overview,
    remove_override,
    unknown_years,
    years_to_watch,
)
from app.web.context import me, require, runtime
from app.web.errors import status_of

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _today() -> date:
    rt = runtime()
    return rt.clock.now().astimezone(ZoneInfo(rt.timezone)).date()


def _year_shown(today: date) -> int:
    year = request.values.get("year", "")
    return int(year) if year.isdigit() and FIRST_YEAR <= int(year) <= LAST_YEAR else today.year


def _page(year: int, today: date, *, errors: Mapping[str, Message] | None = None,
          given: dict[str, str] | None = None) -> str:
    return render_template("admin/calendar.html", overview=calendar_overview(year, today), today=today,
                           office_hours=runtime().calendar.office_hours.describe(), kinds=OVERRIDE_KINDS,
                           errors=errors or {}, given=given or {}, years=range(today.year - 1, today.year + 3),
                           format_date=format_date)


def calendar_flag() -> dict[str, Any]:
    """For the admin menu: this year or the next unknown to the calendar (asked only when the menu shows it)."""
    return {"unknown_calendar_years": lambda: unknown_years(years_to_watch(_today()))}


@require(may_administer)
def working_calendar() -> str:
    today = _today()
    return _page(_year_shown(today), today)


@require(may_administer)
def add_calendar_day() -> Any:
    today, form = _today(), request.form
    try:
        override = add_override(form.get("day", ""), form.get("kind", ""), form.get("name", ""),
                                user=me(), clock=runtime().clock)
    except InvalidFormError as exc:
        given = {name: form.get(name, "") for name in ("day", "kind", "name")}
        return _page(_year_shown(today), today, errors=exc.errors, given=given), status_of(exc)
    flash(_("%(day)s saved.", day=override.day.isoformat()), "success")
    return redirect(url_for("admin.working_calendar", year=override.day.year))


@require(may_administer)
def remove_calendar_day(override_id: int) -> Response:
    removed = remove_override(override_id)
    flash(_("%(day)s removed: the holiday library decides this day again.", day=removed.day.isoformat()), "success")
    return redirect(url_for("admin.working_calendar", year=removed.day.year))
