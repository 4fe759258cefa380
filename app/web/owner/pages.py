"""The owner's pages once signed in: home (their tickets), report, a ticket's story, their photos and data."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from app.services.errors import ServiceError
from app.services.owners.consent import consented_at
from app.services.owners.data import export_owner_data
from app.services.owners.identity import mask_email, mask_phone, owner_emails
from app.services.owners.story import ticket_story
from app.services.owners.tickets import (
    OWNER_CATEGORIES,
    Report,
    owner_ticket,
    owner_tickets,
    photo_of,
    places_to_report,
    require_owner_upload,
)
from app.services.owners.tickets import (
    report as report_ticket,
)
from app.web.context import runtime
from app.web.errors import FORM_REFUSALS, refused
from app.web.form_fields import Uploads, parse_submission
from app.web.i18n import say
from app.web.owner.context import current_owner, owner_required, the_owner

CATEGORY_LABELS = {
    "repair": lazy_gettext("Repair"), "complaint": lazy_gettext("Complaint"),
    "consultation": lazy_gettext("Consultation"), "suggestion": lazy_gettext("Suggestion"),
    "life_service": lazy_gettext("Life service"), "praise": lazy_gettext("Praise"), "other": lazy_gettext("Other"),
}
# The report's fields the shared form parser reads: the preferred time (business time) and the photo.
REPORT_FIELDS = {"properties": {"desired_completion_at": {"type": "string", "format": "date-time"},
                                "photo": {"type": "string", "x-widget": "photo"}}}


def page_helpers() -> dict[str, Any]:
    """What every owner template may call (registered on the blueprint)."""
    return {"category_label": lambda key: str(CATEGORY_LABELS.get(key or "", key or "")), "mask": mask_phone,
            "say": say, "owner_signed_in": lambda: current_owner() is not None,
            "desk_phone": lambda: str(current_app.config["SERVICE_DESK_PHONE"])}


@owner_required
def home() -> str:
    owner = the_owner()
    return render_template("owner/home.html", owner=owner, tickets=owner_tickets(owner))


@owner_required
def report() -> Any:
    owner = the_owner()
    places = places_to_report(owner)
    if request.method == "GET":
        chosen = _preselected(places, request.args.get("building"))
        return _report_page(places, {"unit_id": chosen}, {})
    uploads = Uploads(current_app.config["UPLOAD_DIR"])
    try:
        parsed = parse_submission(REPORT_FIELDS, request.form, request.files, uploads, runtime().timezone)
        number = report_ticket(runtime(), owner, Report(
            unit_id=_as_int(request.form.get("unit_id")), category=request.form.get("category", ""),
            description=request.form.get("description", ""),
            desired_completion_at=parsed.get("desired_completion_at"), photo=parsed.get("photo")))
    except FORM_REFUSALS as exc:
        uploads.discard()
        errors, status = refused(exc)
        return _report_page(places, request.form, errors), status
    except ServiceError:
        uploads.discard()
        raise
    flash(_("Reported. Your ticket number is %(number)s.", number=number), "success")
    return redirect(url_for("owner.ticket", number=number))


def _report_page(places: list[Any], values: Any, errors: dict[str, str]) -> str:
    return render_template("owner/report.html", places=places, values=values, errors=errors,
                           categories=OWNER_CATEGORIES)


def _preselected(places: list[Any], building: str | None) -> int | None:
    mine = [place for place in places if place.relation != "common"]
    in_building = [place for place in mine if building and place.building == building]
    chosen = in_building or mine
    return chosen[0].unit_id if chosen else None


def _as_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@owner_required
def ticket(number: str) -> str:
    owner = the_owner()
    found = owner_ticket(owner, number)
    story = ticket_story(found, now=runtime().clock.now(), timezone=runtime().timezone,
                         desk_phone=str(current_app.config["SERVICE_DESK_PHONE"]))
    photo = photo_of(found)
    return render_template("owner/ticket.html", ticket=found, story=story, photo=photo,
                           waiting=say(story.waiting) if story.waiting else None)


@owner_required
def photo(number: str, name: str) -> Response:
    require_owner_upload(the_owner(), number, name)
    return send_from_directory(current_app.config["UPLOAD_DIR"], name, max_age=3600)


@owner_required
def my_data() -> str:
    owner = the_owner()
    emails = sorted({mask_email(email) for email in owner_emails(owner).values()})
    return render_template("owner/my_data.html", owner=owner, emails=emails, consented_at=consented_at(owner.phone))


@owner_required
def export_my_data() -> Response:
    exported = export_owner_data(the_owner(), now=runtime().clock.now())
    body = json.dumps(exported, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-data.json"',
                             "Cache-Control": "no-store"})
