"""Tickets: record a call (the reception's start form) and a ticket's page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import login_required

from app.services.errors import ConflictError, InvalidFormError, InvalidRequestError, Message
from app.services.jobs.notifications import texts_about_ticket
from app.services.people.access_log import log_phone_view
from app.services.people.organisation import projects_for
from app.services.people.users import role_titles
from app.services.work import tickets as ticket_service
from app.services.work import wait_actions
from app.services.work.inbox import ticket_view
from app.services.work.instances import start_form_for
from app.services.work.wait_actions import MAX_REASON
from app.web.context import me, runtime
from app.web.errors import status_of
from app.web.form_fields import Field, Uploads, fields_for, parse_submission
from app.web.i18n import say, select_locale
from app.web.labels import CODE_LABELS, code_label
from app.web.timeline import timeline_lines


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
        return _render_new_ticket(schema, dict(request.form), exc.errors, status=status_of(exc))
    except BaseException:
        uploads.discard()
        raise
    flash(_("Ticket %(number)s recorded. Read the number to the caller.", number=opened.number), "success")
    return redirect(url_for("console.ticket_page", number=opened.number))


def _render_new_ticket(schema: dict[str, Any] | None, values: dict[str, Any], errors: Mapping[str, Message],
                       status: int = 200) -> Any:
    fields = [_project_choices(field) if field.name == "project" else field
              for field in fields_for(schema, values, errors, select_locale(), runtime().timezone)]
    # The caller panel (static/intake.js) fills itself from /api/v1/callers as the phone is typed or a unit picked.
    stage_labels, category_labels = ({code: code_label(kind, code, select_locale()) for code in CODE_LABELS[kind]}
                                     for kind in ("stage", "category"))
    return render_template("new_ticket.html", fields=fields, errors=errors, stage_labels=stage_labels,
                           category_labels=category_labels, time_zone=runtime().timezone), status


# Most calls come in on the hotline and are neither urgent nor emergencies: one keystroke fewer each.
INTAKE_DEFAULTS = {"channel": "hotline", "urgency": "normal", "emergency": False}


def _project_choices(field: Field) -> Field:
    """The intake's project is a key the agent cannot guess: offer the projects they work on, by name."""
    projects = projects_for(me())
    if field.read_only or not projects:
        return field
    value = field.value or (projects[0].key if len(projects) == 1 else None)
    return replace(field, widget="select", choices=tuple((p.key, p.name) for p in projects), value=value)


@login_required
def ticket_page(number: str) -> Any:
    return _render_ticket(number)


def _render_ticket(number: str, *, action: str | None = None, reason: str = "", error: str | None = None,
                   status: int = 200) -> Any:
    view = ticket_view(runtime(), number, user=me())
    if view.may_see_phone and view.ticket.phone:  # the full phone number is shown (PIPL: logged)
        log_phone_view(me(), view.ticket.number, source="ticket_page", now=runtime().clock.now())
    texts = texts_about_ticket(view.ticket.number) if view.may_see_phone else []  # a text names unit and number
    return render_template("ticket.html", view=view, timeline=timeline_lines(view.timeline), role_titles=role_titles(),
                           texts=texts,
                           wait_actions=wait_actions.actions_for(view.ticket, user=me()),
                           wait_action_labels=WAIT_ACTION_LABELS, attached=request.args.get("attached") == "1",
                           failed_action=action, reason=reason, action_error=error, now=runtime().clock.now()), status


@login_required
def act_on_wait(number: str) -> Any:
    """The CS supervisor's button on a wait (dispatch now, call back now, end the pause), with a reason."""
    action, reason = request.form.get("action", ""), request.form.get("reason", "")
    try:
        wait_actions.act_on_wait(runtime(), number, action, reason, user=me())
    except (InvalidRequestError, ConflictError) as exc:
        return _render_ticket(number, action=action, reason=reason[:MAX_REASON], error=say(exc.message),
                              status=status_of(exc))
    flash(_("Done: %(action)s.", action=WAIT_ACTION_LABELS[action]), "success")
    return redirect(url_for("console.ticket_page", number=number))


WAIT_ACTION_LABELS = {"dispatch_now": lazy_gettext("Dispatch now"), "call_back_now": lazy_gettext("Call back now"),
                      "end_pause": lazy_gettext("End the pause")}
