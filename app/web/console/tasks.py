"""A task's page and its form: show, complete, claim, give back, hand over; the uploaded files."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app.services.errors import InvalidFormError
from app.services.people.access_log import log_phone_view
from app.services.steps.plan import TaskSnapshot
from app.services.work import tasks as task_service
from app.services.work.inbox import ticket_of_instance, timeline_of
from app.services.work.people_choice import people_to_pick
from app.services.work.staffing import Unstaffed
from app.web.context import me, runtime
from app.web.form_fields import PeopleOffer, Uploads, fields_for, parse_submission, roles_offered
from app.web.i18n import bilingual, select_locale
from app.web.redirects import safe_next
from app.web.timeline import timeline_lines


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


@login_required
def claim(task_id: str) -> Response:
    task_service.claim_task(runtime(), task_id, user=me())
    return redirect(safe_next(request.form.get("next"), url_for("console.task_page", task_id=task_id)))


@login_required
def unclaim(task_id: str) -> Response:
    task_service.unclaim_task(runtime(), task_id, user=me())
    return redirect(url_for("console.home", scope="group"))


@login_required
def upload(name: str) -> Response:
    if "/" in name or name.startswith("."):
        abort(404)
    return send_from_directory(current_app.config["UPLOAD_DIR"], name)
