"""The staff console: log in, inbox, task pages with their forms, tickets. Pages, not JSON."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import format_datetime, lazy_gettext
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.services import tasks as task_service
from app.services import tickets as ticket_service
from app.services.access import may_deploy
from app.services.access_log import log_phone_view
from app.services.auth import LoginRefusedError, Principal, log_in, set_locale
from app.services.errors import ForbiddenError, InvalidFormError, NotFoundError
from app.services.inbox import (
    INBOX_PAGE,
    TimelineEntry,
    inbox,
    inbox_counts,
    mask_phone,
    ticket_of_instance,
    ticket_view,
    timeline_of,
)
from app.services.instances import start_form_for
from app.services.notifications import unread_count
from app.services.organisation import projects_for
from app.services.people_choice import people_to_pick
from app.services.runtime import Runtime
from app.services.staffing import Unstaffed
from app.services.steps import TaskSnapshot
from app.services.users import role_titles
from app.web.admin import MANAGERS
from app.web.form_fields import Field, PeopleOffer, Uploads, fields_for, parse_submission, roles_offered
from app.web.i18n import LOCALES, bilingual, select_locale
from app.web.labels import CODE_LABELS, code_label
from app.web.session import SessionUser

console = Blueprint("console", __name__)


def runtime() -> Runtime:
    return current_app.extensions["kefu"]


def me() -> Principal:
    return current_user.principal


_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # raw HTML in instructions is shown as text


@console.app_template_filter("markdown")
def render_markdown(text: str | None) -> Markup:
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704 - markdown-it escapes everything with html off


@console.app_context_processor
def template_helpers() -> dict[str, Any]:
    return {"bilingual": lambda text: bilingual(text, select_locale()), "mask_phone": mask_phone,
            "locale": select_locale(), "format_datetime": business_time, "may_record_calls": may_record_calls,
            "label": lambda kind, code: code_label(kind, code, select_locale()),
            "may_open_admin": may_open_admin, "may_design": may_design, "project_name": project_name,
            "unread_notifications": unread_notifications}


def unread_notifications() -> int:
    return unread_count(current_user.principal.id) if current_user.is_authenticated else 0


CONSOLE_DATETIME = "yyyy-MM-dd HH:mm"  # one way to write a moment everywhere: forms, lists, instructions


def business_time(value: datetime | None, format: str = "short") -> str:
    """A moment in the business time zone; "short" (what the templates ask for) reads 2026-03-02 09:00 in both
    languages, like form values and task instructions."""
    if value is None:
        return ""
    return format_datetime(value, CONSOLE_DATETIME if format == "short" else format)


def project_name(key: str | None) -> str:
    """A project as staff call it (兰亭苑), not its key; the key when it is not one of my projects."""
    if "project_names" not in g:
        g.project_names = {p.key: p.name for p in projects_for(me())} if current_user.is_authenticated else {}
    return g.project_names.get(key or "", key or "—")


def may_open_admin() -> bool:
    return current_user.is_authenticated and bool(current_user.principal.role_keys & MANAGERS)


def may_design() -> bool:
    return current_user.is_authenticated and may_deploy(current_user.principal)


def may_record_calls() -> bool:
    """Whether the menu offers "New ticket": only to people who may start a reception (no 403 behind a link)."""
    if not current_user.is_authenticated:
        return False
    try:
        start_form_for(runtime(), ticket_service.RECEPTION, user=me())
    except (ForbiddenError, NotFoundError, SQLAlchemyError):  # an error page must render without the link
        return False
    return True


@console.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html")
    try:
        principal = log_in(request.form.get("username", ""), request.form.get("password", ""), runtime().clock)
    except LoginRefusedError as exc:
        flash(bilingual(exc.message, select_locale()), "danger")
        return render_template("login.html", username=request.form.get("username", "")), 401
    login_user(SessionUser(principal))
    return redirect(_safe_next(request.args.get("next")))


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else url_for("console.home")


@console.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    return redirect(url_for("console.login"))


@console.post("/language")
def language() -> Response:
    chosen = request.form.get("lang", "zh")
    chosen = chosen if chosen in LOCALES else "zh"
    if current_user.is_authenticated:
        set_locale(me().id, chosen)
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response


@console.get("/")
@login_required
def home() -> str:
    scope = request.args.get("scope", "mine")
    scope = scope if scope in ("mine", "group") else "mine"
    filters = {name: request.args.get(name, "").strip() or None for name in ("category", "process_id", "search")}
    page = request.args.get("page", "1")
    page_number = min(int(page), 10_000) if page.isdigit() and int(page) > 0 else 1
    rows = inbox(user=me(), scope=scope, page=page_number, category=filters["category"],
                 process_id=filters["process_id"], search=filters["search"], rt=runtime())
    return render_template("inbox.html", scope=scope, rows=rows[:INBOX_PAGE], page=page_number,
                           more=len(rows) > INBOX_PAGE, filters=filters, categories=CODE_LABELS["category"].items(),
                           flows=INBOX_FLOWS, counts=inbox_counts(me()), now=runtime().clock.now())


INBOX_FLOWS = (("reception", "客户接待 / Reception"), ("complaint", "投诉处理 / Complaint"),
               ("repair", "维修工单 / Repair"), ("callback", "回访 / Callback"))


@console.get("/tasks/<task_id>")
@login_required
def task_page(task_id: str) -> str:
    return _render_task(task_id, values=None, errors={})


def _render_task(task_id: str, *, values: dict[str, Any] | None, errors: dict[str, str], status: int = 200) -> Any:
    detail = task_service.get_task(runtime(), task_id, user=me(), locale=select_locale())
    ticket = ticket_of_instance(detail.task.instance_id)
    if ticket is not None and ticket.phone:  # the task page shows the full phone number (PIPL: logged)
        log_phone_view(me(), ticket.number, source="task_page", now=runtime().clock.now())
    shown = {**detail.data, **(values or {})}
    project_key = ticket.project_key if ticket is not None else None
    people = {role: _people_offer(role, detail.task.department, project_key) for role in roles_offered(detail.form)}
    fields = fields_for(detail.form, shown, errors, select_locale(), runtime().timezone, people)
    unstaffed = detail.unstaffed
    page = render_template("task.html", task=detail.task, form=detail.form, fields=fields, ticket=ticket,
                           instructions=detail.instructions, unstaffed=unstaffed,
                           stand_ins=_stand_in_choices(detail.task, unstaffed, project_key),
                           timeline=timeline_lines(timeline_of(runtime(), detail.task.instance_id)),
                           errors=errors, can_complete=detail.task.state == "open")
    return page, status


def _people_offer(role: str, department: str | None, project_key: str | None) -> PeopleOffer:
    """The picker's people; when the task's department has nobody, why, and everyone who may go instead."""
    choice = people_to_pick(role, department=department, project_key=project_key)
    if choice.unstaffed is None:
        return PeopleOffer(choice.people)
    reason = bilingual(choice.unstaffed.reason(), select_locale())
    if not choice.groups:
        return PeopleOffer([], note=_("%(reason)s: nobody can be chosen; ask an administrator.", reason=reason))
    return PeopleOffer([], choice.groups, _("%(reason)s: choose someone of another department, or the "
                                            "department's own owner.", reason=reason))


def _stand_in_choices(task: TaskSnapshot, unstaffed: Unstaffed | None,
                      project_key: str | None) -> list[tuple[str, str]]:
    """Whom the supervisor standing in may hand a task nobody may do: the holders of its role anywhere."""
    if unstaffed is None or task.role is None:
        return []
    choice = people_to_pick(task.role, department=None, project_key=project_key)
    return choice.people


@console.post("/tasks/<task_id>/hand-over")
@login_required
def hand_over(task_id: str) -> Response:
    """A supervisor standing in gives a task nobody may do to a holder of its role (of any department)."""
    try:
        task_service.hand_over_task(runtime(), task_id, request.form.get("username", "").strip(), user=me())
    except InvalidFormError as exc:
        flash(bilingual(exc.message, select_locale()), "danger")
        return redirect(url_for("console.task_page", task_id=task_id))
    flash(_("Task handed over."), "success")
    return redirect(url_for("console.home", scope="group"))


@console.post("/tasks/<task_id>")
@login_required
def complete_task(task_id: str) -> Any:
    detail = task_service.get_task(runtime(), task_id, user=me())
    uploads = Uploads(current_app.config["UPLOAD_DIR"])
    try:
        data = parse_submission(detail.form, request.form, request.files, uploads, runtime().timezone)
        outcome = task_service.complete_task(runtime(), task_id, data, user=me())
    except InvalidFormError as exc:
        uploads.discard()
        flash(_("Please correct the marked fields."), "danger")
        return _render_task(task_id, values=dict(request.form), errors=exc.errors, status=422)
    except BaseException:
        uploads.discard()
        raise
    if outcome.status == "error":
        flash(_("The process stopped with an error; an administrator has been told."), "danger")
        return redirect(url_for("console.home"))
    mine = [task for task in outcome.open_tasks if task.claimed_by_id == me().id or task.assignee == me().username
            or (task.role in me().role_keys and task.assignee is None and task.claimed_by_id is None)]
    if mine:
        return redirect(url_for("console.task_page", task_id=mine[0].id))
    flash(_("Done. The next step is with its owner."), "success")
    return redirect(url_for("console.home"))


@console.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Response:
    task_service.claim_task(runtime(), task_id, user=me())
    return redirect(request.form.get("next") or url_for("console.task_page", task_id=task_id))


@console.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Response:
    task_service.unclaim_task(runtime(), task_id, user=me())
    return redirect(url_for("console.home", scope="group"))


@console.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new_ticket() -> Any:
    schema = start_form_for(runtime(), ticket_service.RECEPTION, user=me())
    if request.method == "GET":
        phone = request.args.get("phone", "")
        return _render_new_ticket(schema, {**INTAKE_DEFAULTS, **({"phone": phone} if phone else {})}, {})
    uploads = Uploads(current_app.config["UPLOAD_DIR"])
    try:
        data = parse_submission(schema, request.form, request.files, uploads, runtime().timezone)
        opened = ticket_service.open_ticket(runtime(), data, user=me())
    except InvalidFormError as exc:
        uploads.discard()
        flash(_("Please correct the marked fields."), "danger")
        return _render_new_ticket(schema, dict(request.form), exc.errors, status=422)
    except BaseException:
        uploads.discard()
        raise
    flash(_("Ticket %(number)s recorded. Read the number to the caller.", number=opened.number), "success")
    return redirect(url_for("console.ticket_page", number=opened.number))


def _render_new_ticket(schema: dict[str, Any] | None, values: dict[str, Any], errors: dict[str, str],
                       status: int = 200) -> Any:
    phone = str(values.get("phone") or "")
    recent = ticket_service.tickets_of_phone(phone, user=me()) if phone else []
    fields = [_project_choices(field) if field.name == "project" else field
              for field in fields_for(schema, values, errors, select_locale(), runtime().timezone)]
    stage_labels = {code: code_label("stage", code, select_locale()) for code in CODE_LABELS["stage"]}
    return render_template("new_ticket.html", fields=fields, recent=recent, errors=errors, stage_labels=stage_labels,
                           time_zone=runtime().timezone), status


# Most calls come in on the hotline and are neither urgent nor emergencies: one keystroke fewer each.
INTAKE_DEFAULTS = {"channel": "hotline", "urgency": "normal", "emergency": False}


def _project_choices(field: Field) -> Field:
    """The intake's project is a key the agent cannot guess: offer the projects they work on, by name."""
    projects = projects_for(me())
    if field.read_only or not projects:
        return field
    value = field.value or (projects[0].key if len(projects) == 1 else None)
    return replace(field, widget="select", choices=tuple((p.key, p.name) for p in projects), value=value)


@console.get("/tickets/<number>")
@login_required
def ticket_page(number: str) -> str:
    view = ticket_view(runtime(), number, user=me())
    if view.may_see_phone and view.ticket.phone:  # the full phone number is shown (PIPL: logged)
        log_phone_view(me(), view.ticket.number, source="ticket_page", now=runtime().clock.now())
    return render_template("ticket.html", view=view, timeline=timeline_lines(view.timeline), role_titles=role_titles())


_ACTIONS = {
    "start": lazy_gettext("Started"), "complete": lazy_gettext("Completed"), "claim": lazy_gettext("Claimed"),
    "unclaim": lazy_gettext("Gave back"), "assign": lazy_gettext("Assigned"), "timer": lazy_gettext("Timer fired"),
    "error": lazy_gettext("Error"), "call_attached": lazy_gettext("Repeat call"),
    "escalated": lazy_gettext("Escalated"), "incident": lazy_gettext("Incident"), "retried": lazy_gettext("Retried"),
    "night_emergency_alert": lazy_gettext("Night emergency alert (who was told, who was texted, who has no mobile)"),
    # the admin console's repairs
    "suspended": lazy_gettext("Suspended"), "resumed": lazy_gettext("Resumed"),
    "terminated": lazy_gettext("Terminated"), "reassigned": lazy_gettext("Reassigned"),
    "data_edited": lazy_gettext("Data changed"), "migrated": lazy_gettext("Migrated"),
}


@dataclass(frozen=True)
class TimelineItem:
    label: str
    text: str
    upload: str | None  # the stored file's name, for a photo or a signature


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    actor: str | None
    action: str  # the audit action as stored: start, complete, timer, ...
    action_label: str
    task_title: str | None
    items: list[TimelineItem]


def timeline_lines(entries: list[TimelineEntry]) -> list[TimelineLine]:
    """The audit trail as people read it: which task, and each submitted value under its form label."""
    locale = select_locale()
    return [TimelineLine(entry.at, entry.actor, entry.action, str(_ACTIONS.get(entry.action, entry.action)),
                         bilingual(entry.task_title, locale) if entry.task_title else None,
                         _timeline_items(entry.data, entry.form, locale)) for entry in entries]


def _timeline_items(data: dict[str, Any] | None, schema: dict[str, Any] | None, locale: str) -> list[TimelineItem]:
    if not data:
        return []
    properties = (schema or {}).get("properties") or {}
    items = []
    for name, value in data.items():
        spec = properties.get(name) or {}
        if isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif isinstance(value, dict | list):
            text = str(value)
        elif name == "project" and isinstance(value, str):  # the intake's project is a key: say its name
            text = project_name(value)
        else:
            text = fields_for({"properties": {name: spec}}, {name: value}, {}, locale, runtime().timezone)[0].display
        upload = value[len("upload:"):] if isinstance(value, str) and value.startswith("upload:") else None
        items.append(TimelineItem(bilingual(spec.get("title") or name, locale), text, upload))
    return items


@console.get("/uploads/<name>")
@login_required
def upload(name: str) -> Response:
    if "/" in name or name.startswith("."):
        abort(404)
    return send_from_directory(current_app.config["UPLOAD_DIR"], name)


from app.web.console import notifications  # noqa: E402, F401  (registers the bell's pages)
