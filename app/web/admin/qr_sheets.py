"""The buildings' QR sheets: a printable A4 page per building whose code opens the owners' pages there
(for the lift lobby and the letterbox). Managers print them for their projects."""

from __future__ import annotations

import segno
from flask import current_app, render_template, request, url_for
from werkzeug.exceptions import NotFound

from app.services.access import may_manage
from app.services.errors import NotFoundError
from app.services.owners.buildings import Building, building, buildings
from app.services.people.organisation import visible_projects
from app.web.context import me, require


@require(may_manage)
def qr_codes() -> str:
    """Every building of the manager's projects, with the link to its sheet."""
    return render_template("admin/qr_codes.html", buildings=buildings(visible_projects(me())))


@require(may_manage)
def qr_sheet(project_key: str, name: str) -> str:
    """One building's A4 sheet; 404 for a building that is not one, or not in the manager's projects."""
    allowed = visible_projects(me())
    if allowed is not None and project_key not in allowed:
        raise NotFound()
    try:
        found = building(project_key, name)
    except NotFoundError:
        raise NotFound() from None
    target = owner_link(found)
    qr = segno.make(target, error="m")
    return render_template("admin/qr_sheet.html", building=found, target=target,
                           qr=qr.svg_data_uri(scale=10, border=2))


def owner_link(found: Building) -> str:
    """The address the code holds: the public base URL when set (a proxy's host), else this request's host."""
    path = url_for("owner.building", project_key=found.project_key, building=found.building)
    base = str(current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    return base + path
