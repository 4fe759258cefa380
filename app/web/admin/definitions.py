"""Definitions: every flow with its versions, who deployed them, instance counts, and where instances wait."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template

from app.services.access import may_manage
from app.services.oversight.diagrams import diagram_xml, flows, version_page
from app.web.context import require


@require(may_manage)
def definitions() -> str:
    return render_template("admin/definitions.html", flows=flows())


@require(may_manage)
def definition(bundle_id: int) -> str:
    return render_template("admin/definition.html", page=version_page(bundle_id))


@require(may_manage)
def diagram(bundle_id: int, process_id: str) -> Any:
    """The BPMN file that draws ``process_id`` in this version (for the viewer)."""
    # A designer's file, shown as data: opened directly, no script in it may run on this origin.
    return Response(diagram_xml(bundle_id, process_id), mimetype="application/xml",
                    headers={"Content-Security-Policy": "default-src 'none'; sandbox",
                             "X-Content-Type-Options": "nosniff"})
