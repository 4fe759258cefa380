"""The dashboard: received and closed per day, the managers' rates, by department, category, person and stage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from app.services.access import may_administer, may_manage
from app.services.figures import counters
from app.services.figures import dashboard as figures
from app.services.figures.reports import handover_progress
from app.services.people.organisation import projects_for, visible_projects
from app.web.context import me, require, runtime
from app.web.i18n import bilingual, select_locale
from app.web.labels import code_label, person_name

DEFAULT_DAYS = 30
MAX_DAYS = 400
PERIODS = ("day", "week", "month")
# Each figure's formula, as written in docs/kpi.md; shown as the figure's tooltip.
FORMULAS = {
    "received": lazy_gettext("Received = tickets received in the period (attached calls are not counted again)"),
    "closed": lazy_gettext("Closed = tickets closed in the period"),
    "completion_rate": lazy_gettext(
        "Completion = tickets received in the period and closed since ÷ tickets received in the period"),
    "timeliness_rate": lazy_gettext(
        "Timeliness = tickets closed in the period within their time limit ÷ tickets closed in the period that "
        "had a time limit (those without one are not counted)"),
    "satisfaction_rate": lazy_gettext(
        "Satisfaction = callbacks rated satisfied or very satisfied ÷ callbacks that reached the owner (tickets "
        "closed in the period)"),
    "first_time_rate": lazy_gettext(
        "First-time closure = tickets closed without rework (a refused acceptance) or reopening ÷ tickets closed "
        "in the period"),
    "callback_rate": lazy_gettext(
        "Callback rate = callbacks that reached the owner ÷ callbacks made (reached or unreachable), tickets "
        "closed in the period"),
    "repeat_repairs": lazy_gettext(
        "Repeat repairs = repair tickets received in the period flagged as repeat (same unit and part within the "
        "repeat-repair window of a closed one; both are flagged)"),
    "duplicate_dispatches": lazy_gettext(
        "Duplicate dispatches = repairs and complaints received in the period that were dispatched again although "
        "the same unit and category had a ticket still open or received within the duplicate window"),
    "attached_calls": lazy_gettext(
        "Calls attached = repeated calls attached to tickets received in the period (no second dispatch)"),
    "escalated": lazy_gettext("Escalated = tickets received in the period that reached escalation level 1 or higher"),
    "reopened": lazy_gettext(
        "Reopened = tickets received in the period reopened as a complaint after a dissatisfied callback"),
    "stage_hours": lazy_gettext(
        "Average time = total time from creation to completion of the step's tasks completed in the period ÷ "
        "their number"),
    "hot_spots": lazy_gettext(
        "Hot spots = complaints (by classified hot spot or type) and repairs (by part; waterproofing and exterior "
        "walls count as leak or crack) received in the period"),
}
HOT_SPOT_LABELS = {
    "leak_crack": "渗漏裂 / Leak or crack", "landscaping": "园林绿化 / Landscaping",
    "car_park_flooding": "车库水浸 / Car park flooding", "noise": "噪音 / Noise", "cleaning": "清洁卫生 / Cleaning",
    "security": "安全秩序 / Security", "safety": "安全/紧急 / Safety or emergency",
    "quality": "其它质量问题 / Other quality defect", "property_service": "物业服务 / Property service",
    "sales": "销售/合同 / Sales or contract", "heating_cooling": "供热与供冷 / Heating and cooling",
    "electrical": "电气管线 / Electrical", "plumbing": "给排水管道 / Plumbing",
    "equipment": "设备安装 / Equipment installation", "decoration": "装修工程 / Decoration", "other": "其它 / Other",
}
RATES = ("completion_rate", "timeliness_rate", "satisfaction_rate", "first_time_rate", "callback_rate")
COUNTS = ("received", "closed", "repeat_repairs", "duplicate_dispatches", "attached_calls", "escalated", "reopened")


@require(may_manage)
def dashboard() -> Any:
    rt = runtime()
    today = rt.clock.now().astimezone(ZoneInfo(rt.timezone)).date()
    start, end, error = _period(request.args.get("from", ""), request.args.get("to", ""), today)
    period = request.args.get("period", "day")
    period = period if period in PERIODS else "day"
    projects = projects_for(me())
    project_key = request.args.get("project", "")
    if project_key not in {project.key for project in projects}:
        project_key = ""
    allowed = visible_projects(me())
    board = figures.dashboard(start=start, end=end, project_key=project_key or None, allowed_projects=allowed,
                              timezone=runtime().timezone)
    names = {project.key: project.name for project in projects}
    status = 400 if error else 200
    targets = figures.targets()
    locale = select_locale()
    not_assigned = _("Not assigned")
    tables = {
        "department": _rate_rows(board.by_department,
                                 lambda v: code_label("department", v, locale) if v else not_assigned),
        "category": _rate_rows(board.by_category, lambda v: code_label("category", v, locale)),
        "project": _rate_rows(board.by_project, lambda v: names.get(v, v)),
        "hot_spot": [(s.value, _hot_spot_label(s.value), s.figures.received) for s in board.hot_spots],
        "person": _time_rows(board.people, lambda s: s.label or s.value),
        "stage": _time_rows(board.stages, lambda s: bilingual(s.label, locale) or s.value),
        "planned": _planned_rows(board, lambda v: names.get(v, v),
                                 lambda v: code_label("department", v, locale), person_name),
    }
    return render_template("admin/dashboard.html", board=board, error=error, period=period, periods=PERIODS,
                           projects=projects, project_key=project_key, project_names=names, tables=tables,
                           formulas={key: str(text) for key, text in FORMULAS.items()},
                           rates=RATES, counts=COUNTS, rate_names=rate_names(), count_names=count_names(),
                           targets=_target_cards(board, targets),
                           handover=handover_progress(runtime().clock.now(), timezone=runtime().timezone,
                                                      allowed_projects=[project_key] if project_key else allowed),
                           chart=_chart_data(board, period, names, targets), may_recount=may_administer(
                               me()),
                           hot_spot_label=_hot_spot_label, given={"from": request.args.get("from", ""),
                                                                  "to": request.args.get("to", "")}), status


@require(may_administer)
def recount() -> Response:
    """Recount every figure from the tickets (after an upgrade from a version without the counters)."""
    counted = counters.rebuild(timezone=runtime().timezone)
    flash(_("Recounted %(count)d tickets.", count=counted), "success")
    return redirect(url_for("admin.dashboard"))


def _period(given_start: str, given_end: str, today: date) -> tuple[date, date, str | None]:
    """The chosen business days (default: the last 30 days up to today), or the default and an error."""
    default = (today - timedelta(days=DEFAULT_DAYS - 1), today)
    if not given_start and not given_end:
        return (*default, None)
    try:
        start = date.fromisoformat(given_start) if given_start else default[0]
        end = date.fromisoformat(given_end) if given_end else today
    except ValueError:
        return (*default, _("Dates are written as YYYY-MM-DD; showing the last 30 days."))
    if end < start:
        return (*default, _("The period ends before it starts; showing the last 30 days."))
    if (end - start).days >= MAX_DAYS:
        return (*default, _("Choose a period of at most 400 days; showing the last 30 days."))
    return start, end, None


def _rate_rows(slices: list[figures.Slice], label_of: Callable[[str], str]) -> list[tuple[Any, ...]]:
    """(value, label, received, closed, [rates as text]) per slice: formatted once, here, not in the template."""
    return [(s.value, label_of(s.value), s.figures.received, s.figures.closed,
             [_percent_text(getattr(s.figures, rate)) for rate in RATES]) for s in slices]


def _time_rows(slices: list[figures.Slice], label_of: Callable[[figures.Slice], str]) -> list[tuple[Any, ...]]:
    """(value, label, tasks done, average hours as text) per slice."""
    return [(s.value, label_of(s), s.figures.tasks_done,
             "—" if s.figures.average_task_hours is None else f"{s.figures.average_task_hours:.1f}") for s in slices]


def _percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _hot_spot_label(value: str) -> str:
    return bilingual(HOT_SPOT_LABELS.get(value, value), select_locale())


def _target_cards(board: figures.Dashboard, targets: dict[str, int]) -> dict[str, tuple[str, bool]]:
    """Per targeted rate: the target as the card shows it, and whether the period's figure is below it."""
    cards = {}
    for rate, target in targets.items():
        value = getattr(board.totals, rate)
        text = f"{target}%" if target >= 100 else f"≥ {target}%"
        cards[rate] = (_("Target %(target)s", target=text), value is not None and value * 100 < target)
    return cards


def _percent(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _chart_data(board: figures.Dashboard, period: str, names: dict[str, str],
                targets: dict[str, int]) -> dict[str, Any]:
    """What dashboard.js draws (labels already in the reader's language)."""
    locale = select_locale()
    days = figures.group_days(board.days, period)
    departments = board.by_department
    return {
        "daily": {"labels": [day.isoformat() for day, _ in days],
                  "received": [f.received for _, f in days], "closed": [f.closed for _, f in days],
                  "timeliness": [_percent(f.timeliness_rate) for _, f in days]},
        "departments": {"labels": [code_label("department", s.value, locale) for s in departments],
                        **{rate: [_percent(getattr(s.figures, rate)) for s in departments] for rate in RATES}},
        "categories": {"labels": [code_label("category", s.value, locale) for s in board.by_category],
                       "received": [s.figures.received for s in board.by_category]},
        "hot_spots": {"labels": [_hot_spot_label(s.value) for s in board.hot_spots],
                      "received": [s.figures.received for s in board.hot_spots]},
        "stages": {"labels": [bilingual(s.label, locale) or s.value for s in board.stages],
                   "hours": [round(s.figures.average_task_hours or 0, 2) for s in board.stages]},
        "projects": {"labels": [names.get(s.value, s.value) for s in board.by_project],
                     "received": [s.figures.received for s in board.by_project],
                     "closed": [s.figures.closed for s in board.by_project]},
        "totals": {**{name: getattr(board.totals, name) for name in counters.COUNTERS},
                   **{rate: _percent(getattr(board.totals, rate)) for rate in RATES},
                   "closed_without_limit": board.totals.closed_without_limit},
        "targets": targets,
        "period": period,
        "text": {"received": _("Tickets received"), "closed": _("Tickets closed"), "timeliness": _("Timeliness %"),
                 "hours": _("Average hours"), "tickets": _("Tickets"), "timeliness_target": _("Timeliness target %"),
                 **rate_names()},
    }


def rate_names() -> dict[str, str]:
    return {"completion_rate": _("Completion rate"), "timeliness_rate": _("Timeliness rate"),
            "satisfaction_rate": _("Satisfaction rate"), "first_time_rate": _("First-time closure rate"),
            "callback_rate": _("Callback rate")}


def count_names() -> dict[str, str]:
    return {"received": _("Tickets received"), "closed": _("Tickets closed"), "repeat_repairs": _("Repeat repairs"),
            "duplicate_dispatches": _("Duplicate dispatches"), "attached_calls": _("Calls attached"),
            "escalated": _("Escalated"), "reopened": _("Reopened")}


def _planned_rows(board: figures.Dashboard, project: Callable[[str], str], department: Callable[[str], str],
                  person: Callable[[str], str]) -> list[tuple[str, str, str, int, int, str]]:
    """Planned callbacks' satisfaction: (dimension, value, label, reached, satisfied, rate as text) per slice."""
    planned = board.planned_callbacks
    if planned is None:
        return []
    labels = {"project": project, "department": department, "technician": person}
    groups = {"project": planned.by_project, "department": planned.by_department,
              "technician": planned.by_technician}
    return [(dimension, s.value or "", labels[dimension](s.value or ""), s.reached, s.satisfied,
             "—" if s.rate is None else f"{s.rate:.0%}")
            for dimension, slices in groups.items() for s in slices]
