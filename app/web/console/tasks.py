"""A task's page and its form: show, complete, claim, give back, hand over; the uploaded files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app.services.errors import InvalidFormError, Message
from app.services.people.access_log import log_task_view
from app.services.steps.plan import TaskSnapshot
from app.services.work import tasks as task_service
from app.services.work.forms import with_names
from app.services.work.inbox import first_line, ticket_of_instance, timeline_of
from app.services.work.people_choice import people_to_pick
from app.services.work.staffing import Unstaffed
from app.services.work.uploads import require_upload
from app.web.context import me, runtime
from app.web.errors import status_of
from app.web.form_fields import Field, PeopleOffer, Uploads, fields_for, parse_submission, roles_offered
from app.web.form_hints import short_label
from app.web.i18n import bilingual, select_locale
from app.web.redirects import safe_next
from app.web.timeline import timeline_lines


@login_required
def task_page(task_id: str) -> tuple[str, int]:
    return _render_task(task_id, values=None, errors={})


def _render_task(task_id: str, *, values: dict[str, Any] | None, errors: Mapping[str, Message],
                 status: int = 200) -> tuple[str, int]:
    detail = task_service.get_task(runtime(), task_id, user=me(), locale=select_locale())
    ticket = ticket_of_instance(detail.task.instance_id)
    # The task page shows the full phone number (a callback's: the owner's number and address): PIPL, logged.
    log_task_view(me(), ticket_number=ticket.number if ticket else None, ticket_phone=ticket.phone if ticket else None,
                  project_key=detail.project_key, instance_id=detail.task.instance_id, task_id=detail.task.id,
                  data=detail.data, source="task_page", now=runtime().clock.now())
    shown = {**detail.data, **(values or {})}
    project_key = detail.project_key  # the ticket's, else the instance's (a planned callback, a notice)
    people = {role: _people_offer(role, detail.task.department, project_key) for role in roles_offered(detail.form)}
    fields = fields_for(detail.form, shown, errors, select_locale(), runtime().timezone, people,
                        shown_data=with_names(shown, known_projects=detail.project_names))
    # The ticket's own facts (the form's read-only copies) are shown once, in the collapsed summary.
    facts = [f for f in fields if ticket is not None and f.read_only and f.name in TICKET_FACTS]
    unstaffed = detail.unstaffed
    page = render_template("task.html", task=detail.task, form=detail.form, ticket=ticket,
                           fields=[f for f in fields if f not in facts], facts=facts,
                           problem=first_line(ticket.description) if ticket is not None else None,
                           instructions=detail.instructions, unstaffed=unstaffed,
                           stand_ins=_stand_in_choices(detail.task, unstaffed, project_key),
                           timeline=timeline_lines(timeline_of(runtime(), detail.task.instance_id)),
                           errors=errors, error_summary=error_summary(fields, errors),
                           can_complete=detail.task.state == "open")
    return page, status


# Task-data variables that copy the ticket (docs/flow-contract.md): shown in the summary, not in the form.
TICKET_FACTS = frozenset({"ticket_number", "project", "unit", "caller_name", "phone", "channel", "category",
                          "description", "part", "urgency", "emergency"})


def error_summary(fields: list[Field], errors: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The fields to correct, in the order of the page (the banner names them and links each)."""
    labels = {f.name: f.label for f in fields}
    named = [(f.name, short_label(f.label)) for f in fields if f.name in errors]
    others = [(name, short_label(labels.get(name.split(".")[0], _("the form as a whole"))))
              for name in errors if name not in labels]
    return named + others


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
    form = task_service.task_form(runtime(), task_id, user=me())  # what parsing needs, not the whole page
    uploads = Uploads(current_app.config["UPLOAD_DIR"])
    try:
        data = parse_submission(form, request.form, request.files, uploads, runtime().timezone)
        outcome = task_service.complete_task(runtime(), task_id, data, user=me())
    except InvalidFormError as exc:
        uploads.discard()
        return _render_task(task_id, values=dict(request.form), errors=exc.errors, status=status_of(exc))
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
    """A photo or signature, to those who may see the ticket it belongs to. :raise 404: anyone else."""
    require_upload(runtime(), name, user=me())
    return send_from_directory(current_app.config["UPLOAD_DIR"], name)
