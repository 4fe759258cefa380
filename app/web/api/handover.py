"""Handover defects (收楼/入伙遗留问题), as the console's /handover pages: a batch imported from a spreadsheet (a
multipart upload) with the rows it refused and why, the progress per project and building, and one handed-over
unit with its defects and their work orders. The inspections and re-inspections are tasks (``/tasks``)."""

from __future__ import annotations

from typing import Any

from flask import request

from app.services.errors import InvalidRequestError, msg
from app.services.handover import batches, progress
from app.services.handover.progress import Progress, UnitView
from app.web.api.blueprint import acting_user, allowed_user, api
from app.web.api.serializers import iso
from app.web.context import runtime
from app.web.i18n import say

MAX_UPLOAD = 5 * 1024 * 1024


@api.post("/handover/batches")
def import_handover_batch() -> tuple[dict[str, Any], int]:
    """``project`` and ``file`` (.xlsx or .csv) as multipart/form-data. The good rows are applied together;
    201 with the batch when any was, 200 when every row was refused; either way the refused rows and why."""
    user = allowed_user(batches.may_import)  # the role before the file, as the console's page
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidRequestError(msg("choose the spreadsheet to import"), errors={"file": msg("required")})
    content = upload.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise InvalidRequestError(msg("the file is larger than 5 MB"), errors={"file": msg("too large")})
    report = batches.import_batch(runtime(), request.form.get("project", "").strip(), upload.filename, content,
                                  user=user)
    body = {"batch_id": report.batch_id, "applied": report.applied,
            "refused": [{"row": row.row, "reason": say(row.reason), "values": row.values} for row in report.refused]}
    return body, 201 if report.batch_id is not None else 200


@api.get("/handover/progress")
def handover_progress() -> dict[str, Any]:
    """Each project's figures, then its buildings'; ``units`` the handed-over units with their open defects."""
    rt = runtime()
    units = progress.handover_units(user=acting_user(), now=rt.clock.now(),
                                    project_key=request.args.get("project") or None)
    return {"figures": [_figures_json(figures) for figures in progress.progress(units, timezone=rt.timezone)],
            "units": [_unit_json(unit, with_defects=False) for unit in units]}


@api.get("/handover/units/<int:unit_id>")
def get_handover_unit(unit_id: int) -> dict[str, Any]:
    return _unit_json(progress.handover_unit(unit_id, user=acting_user(), now=runtime().clock.now()),
                      with_defects=True)


def _figures_json(figures: Progress) -> dict[str, Any]:
    return {"project": figures.project_key, "project_name": figures.project_name, "building": figures.building,
            "units": figures.units, "units_closed": figures.units_closed, "defects": figures.defects,
            "open": figures.open, "overdue": figures.overdue, "rework": figures.rework, "hot": figures.hot,
            "hot_open": figures.hot_open, "days_to_close": figures.days_to_close}


def _unit_json(unit: UnitView, *, with_defects: bool) -> dict[str, Any]:
    shown = {"id": unit.id, "project": unit.project_key, "building": unit.building, "unit": unit.unit_code,
             "owner_name": unit.owner_name, "handover_date": unit.handover_date.isoformat(), "status": unit.status,
             "signed_at": iso(unit.signed_at), "defects_count": len(unit.defects), "open": unit.open_count,
             "hot": unit.hot_count}
    if with_defects:
        shown["defects"] = [{
            "ticket": defect.ticket_number, "stage": defect.stage, "location": defect.location, "part": defect.part,
            "defect_type": defect.defect_type, "hot_tag": defect.hot_tag, "description": defect.description,
            "round": defect.round, "close_by": iso(defect.close_by), "repair_due_at": iso(defect.repair_due_at),
            "repaired": defect.is_repaired, "overdue": defect.is_overdue, "rework": defect.is_rework,
        } for defect in unit.defects]
    return shown
