"""Notices to owners (通知) in the staff console: the list, a new draft (it goes to the CS supervisor's inbox to be
approved on the task page), a notice's delivery report with what staff do about the units not reached, and
its print PDFs (the letterbox run, one page per unit, and the notice-board sheet)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from app.services.access import Actor
from app.services.errors import InvalidFormError
from app.services.outreach import notices as notice_service
from app.services.people.organisation import projects_for
from app.services.work.instances import start_form_for
from app.web.context import me, require, runtime, signed_in
from app.web.errors import refused
from app.web.form_fields import Uploads, fields_for, parse_submission
from app.web.i18n import select_locale
from app.web.outreach import NOTICE_SHEETS, notice_kind_label, notice_print_page

OUTCOMES = {"texted": lazy_gettext("Texted"), "queued": lazy_gettext("Text waiting to be sent"),
            "failed": lazy_gettext("Text failed"), "no_mobile": lazy_gettext("No mobile number"),
            "by_hand": lazy_gettext("Delivered by hand")}
STATUSES = {"pending": lazy_gettext("Waiting for approval"), "sent_back": lazy_gettext("Sent back"),
            "sent": lazy_gettext("Sent"), "withdrawn": lazy_gettext("Withdrawn")}


def _reads_notices(user: Actor) -> bool:
    return user.is_admin or bool(user.role_keys & notice_service.READERS)


def menu_helpers() -> dict[str, Any]:
    """``may_read_notices()`` for the menu (registered app-wide with the console's other helpers)."""
    return {"may_read_notices": lambda: signed_in() and _reads_notices(me())}


def _labels() -> dict[str, Any]:
    return {"outcome_label": lambda key: str(OUTCOMES.get(key, key)),
            "status_label": lambda key: str(STATUSES.get(key, key)),
            "kind_label": notice_kind_label}


@require(_reads_notices)
def notices_list() -> str:
    return render_template("notices/list.html", notices=notice_service.list_notices(user=me()),
                           may_draft=bool(me().is_admin or me().role_keys & {"cs_supervisor", "dept_owner"}),
                           **_labels())


@require(_reads_notices)
def new_notice() -> Any:
    schema = start_form_for(runtime(), notice_service.PROCESS_ID, user=me())
    if request.method == "GET":
        return _render_new(schema, {"staff_audience": "none"}, {})
    try:
        uploads = Uploads(current_app.config["UPLOAD_DIR"])  # the draft form has no photo: nothing is stored
        data = parse_submission(schema, request.form, request.files, uploads, runtime().timezone)
        notice = notice_service.draft_notice(runtime(), data, user=me())
    except InvalidFormError as exc:
        _errors, status = refused(exc)
        return _render_new(schema, dict(request.form), exc.errors, status=status)
    flash(_("The notice waits for the CS supervisor's approval."), "success")
    return redirect(url_for("console.notice_page", notice_id=notice.id))


def _render_new(schema: dict[str, Any] | None, values: dict[str, Any], errors: Any, status: int = 200) -> Any:
    """The draft form, its project a choice of the drafter's projects by name (a key is not guessed)."""
    projects = tuple((project.key, project.name) for project in projects_for(me()))
    fields = [replace(field, widget="select", choices=projects) if field.name == "project" and projects else field
              for field in fields_for(schema, values, errors, select_locale(), runtime().timezone)]
    return render_template("notices/new.html", fields=fields), status


@require(_reads_notices)
def notice_page(notice_id: int) -> str:
    notice = notice_service.notice_view(notice_id, user=me())
    recipients = notice_service.recipients_of(notice_id, user=me())
    unreached = [recipient for recipient in recipients if not recipient.is_reached]
    return render_template("notices/notice.html", notice=notice, recipients=recipients, unreached=unreached,
                           may_deliver=bool(me().is_admin or me().role_keys & notice_service.DELIVERERS),
                           **_labels())


@require(_reads_notices)
def mark_by_hand(notice_id: int, recipient_id: int) -> Any:
    notice_service.mark_delivered_by_hand(notice_id, recipient_id, request.form.get("note", ""), user=me(),
                                          now=runtime().clock.now())
    flash(_("Marked as delivered by hand."), "success")
    return redirect(url_for("console.notice_page", notice_id=notice_id))


@require(_reads_notices)
def resend(notice_id: int, recipient_id: int) -> Any:
    if notice_service.resend_text(runtime(), notice_id, recipient_id, user=me()):
        flash(_("The text is queued again."), "success")
    else:
        flash(_("The unit still has no mobile number: record one, or deliver the notice by hand."), "warning")
    return redirect(url_for("console.notice_page", notice_id=notice_id))


@require(_reads_notices)
def notice_pdf(notice_id: int, sheet: str) -> Response:
    if sheet not in NOTICE_SHEETS:
        abort(404)
    notice = notice_service.notice_view(notice_id, user=me())
    if notice.status != "sent":  # nothing to print before the approval
        abort(404)
    recipients = notice_service.recipients_of(notice_id, user=me()) if sheet == "letterbox" else []
    return notice_print_page(notice, sheet, recipients)
