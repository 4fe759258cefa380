"""The supervisor's planned callbacks page (定期回访): the plans and their calls with the tickets they opened,
a month planned for a customer type and a project or building, a plan not yet started cancelled."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.services.access import may_watch_wallboard
from app.services.errors import InvalidFormError
from app.services.outreach import callback_plans, callback_schedule
from app.services.people.organisation import projects_for
from app.web.context import me, require, runtime
from app.web.i18n import bilingual, said_errors, select_locale
from app.web.labels import code_label

CUSTOMER_TYPES = {
    "new_owner": "新交付业主 / New owner after handover",
    "closed_complaint": "投诉办结业主 / Owner with a closed complaint",
    "repeat_repair": "返修业主 / Owner with a repeat repair",
    "vip": "VIP 业主 / VIP owner",
    "warranty_expiring": "保修即将到期 / Warranty ending soon",
    "contract_expiring": "合同即将到期 / Contract ending soon",
    "regular": "常规业主 / Regular owner",
}
STATUSES = {"planned": "待回访 / Planned", "started": "回访中 / In progress", "done": "已完成 / Done",
            "cancelled": "已取消 / Cancelled"}
METHODS = {"phone": "电话 / Phone", "sms": "短信问卷 / Survey by text", "email": "电邮问卷 / Survey by e-mail",
           "visit": "上门 / Visit"}
SATISFACTION = {"very_satisfied": "非常满意 / Very satisfied", "satisfied": "满意 / Satisfied",
                "neutral": "一般 / Neutral", "dissatisfied": "不满意 / Dissatisfied",
                "very_dissatisfied": "非常不满意 / Very dissatisfied"}


@require(may_watch_wallboard)
def callbacks() -> str:
    return _page(_default_request(), {})


@require(may_watch_wallboard)
def plan_callbacks() -> Response | tuple[str, int]:
    form = request.form
    asked = callback_plans.PlanRequest(
        customer_type=form.get("customer_type", ""), project_key=form.get("project", ""),
        building=form.get("building", "").strip() or None, first_day=form.get("first_day", ""),
        last_day=form.get("last_day", ""))
    rt = runtime()
    try:
        planned, skipped = callback_plans.plan_period(asked, user=me(), now=rt.clock.now(), timezone=rt.timezone,
                                                      calendar=rt.calendar())
    except InvalidFormError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _page(asked, said_errors(exc.errors)), 422
    flash(_("%(planned)s owners planned; %(skipped)s were planned already.", planned=planned, skipped=skipped),
          "success")
    return redirect(url_for("console.callbacks"))


@require(may_watch_wallboard)
def cancel_callback_plan(plan_id: int) -> Response:
    callback_plans.cancel_plan(plan_id, user=me())
    flash(_("The callback plan is cancelled."), "success")
    return redirect(url_for("console.callbacks"))


def _default_request() -> callback_plans.PlanRequest:
    today = runtime().clock.now().astimezone(ZoneInfo(runtime().timezone)).date()
    first = today.replace(day=1) + timedelta(days=32)
    first = first.replace(day=1)  # next month
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return callback_plans.PlanRequest("vip", "", None, first.isoformat(), last.isoformat())


def _page(asked: callback_plans.PlanRequest, errors: dict[str, str]) -> str:
    locale = select_locale()
    projects = projects_for(me())
    return render_template(
        "outreach/callbacks.html", asked=asked, errors=errors, projects=projects,
        rows=callback_schedule.plans(user=me(), project_key=request.args.get("project") or None,
                                     status=request.args.get("status") or None),
        types={key: bilingual(label, locale) for key, label in CUSTOMER_TYPES.items()},
        statuses={key: bilingual(label, locale) for key, label in STATUSES.items()},
        satisfaction={key: bilingual(label, locale) for key, label in SATISFACTION.items()},
        methods={key: bilingual(label, locale) for key, label in METHODS.items()},
        department=lambda key: code_label("department", key, locale),
        project_names={project.key: project.name for project in projects})
