"""What a building's QR code opens: the owner's report page with that building's unit chosen (signing in first)."""

from __future__ import annotations

from flask import redirect, url_for
from werkzeug.wrappers import Response

from app.services.owners.buildings import building as find_building


def building(project_key: str, building: str) -> Response:
    """404 for a building that is not one; otherwise on to the report page (sign-in and notice on the way)."""
    found = find_building(project_key, building)
    return redirect(url_for("owner.report", building=found.building))
