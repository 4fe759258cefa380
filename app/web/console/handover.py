"""Handover defects (收楼/入伙遗留问题) in the staff console: the progress per project and building, a batch
imported from a spreadsheet with the rows it refused, and one unit's defects with their work orders."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _

from app.services.errors import InvalidRequestError, ServiceError
from app.services.handover import batches, progress
from app.services.people.organisation import projects_for
from app.web.context import me, require, runtime
from app.web.errors import refused
from app.web.i18n import bilingual, say, select_locale

MAX_UPLOAD = 5 * 1024 * 1024


@require(progress.may_view)
def handover_progress() -> str:
    return _progress_page()


@require(batches.may_import)
def import_handover_batch() -> tuple[str, int]:
    project_key = request.form.get("project", "").strip()
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidRequestError(_("Choose the spreadsheet to import."), errors={"file": "required"})
        content = upload.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            raise InvalidRequestError(_("The file is larger than 5 MB."), errors={"file": "too large"})
        report = batches.import_batch(runtime(), project_key, upload.filename, content, user=me())
    except ServiceError as exc:
        _errors, status = refused(exc)
        return _progress_page(chosen_project=project_key), status
    rows = [{"row": row.row, "reason": say(row.reason), "values": row.values} for row in report.refused]
    return _progress_page(report=report, refused_rows=rows, chosen_project=project_key), 200


@require(progress.may_view)
def handover_unit_page(unit_id: int) -> str:
    unit = progress.handover_unit(unit_id, user=me(), now=runtime().clock.now())
    choices = progress.defect_choices(runtime())
    return render_template("handover/unit.html", unit=unit, choice=lambda field, code: bilingual(
        choices.get(field, {}).get(code) or code, select_locale()), **_labels())


def _progress_page(**extra: Any) -> str:
    project_key = request.args.get("project") or None
    units = progress.handover_units(user=me(), now=runtime().clock.now(), project_key=project_key)
    figures = progress.progress(units, timezone=runtime().timezone)
    return render_template("handover/progress.html", units=units, figures=figures, projects=projects_for(me()),
                           project_key=project_key, may_import=batches.may_import(me()), **_labels(), **extra)


def _labels() -> dict[str, Any]:
    statuses = {"inspection": _("Inspection"), "repairing": _("Being repaired"), "closed": _("Closed, signed")}
    return {"status_label": lambda key: statuses.get(key, key)}
