"""Tickets: record a call (the reception's start form) and a ticket's page."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.services.errors import InvalidFormError
from app.services.people.access_log import log_phone_view
from app.services.people.organisation import projects_for
from app.services.people.users import role_titles
from app.services.work import tickets as ticket_service
from app.services.work.inbox import ticket_view
from app.services.work.instances import start_form_for
from app.web.context import me, runtime
from app.web.form_fields import Field, Uploads, fields_for, parse_submission
from app.web.i18n import select_locale
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


@login_required
def ticket_page(number: str) -> str:
    view = ticket_view(runtime(), number, user=me())
    if view.may_see_phone and view.ticket.phone:  # the full phone number is shown (PIPL: logged)
        log_phone_view(me(), view.ticket.number, source="ticket_page", now=runtime().clock.now())
    return render_template("ticket.html", view=view, timeline=timeline_lines(view.timeline), role_titles=role_titles())
