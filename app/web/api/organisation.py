"""Projects and units: what the New Ticket page looks up as the agent types."""

from __future__ import annotations

from typing import Any

from flask import request

from app.services.errors import InvalidRequestError
from app.services.people.organisation import find_units, projects_for
from app.web.api.blueprint import acting_user, api


@api.get("/projects")
def list_projects() -> dict[str, Any]:
    return {"items": [{"key": p.key, "name": p.name, "city": p.city} for p in projects_for(acting_user())],
            "next": None}


@api.get("/units")
def lookup_units() -> dict[str, Any]:
    project = request.args.get("project", "")
    if not project:
        raise InvalidRequestError("project is required", errors={"project": "required"})
    units = find_units(project, request.args.get("q", ""), user=acting_user())
    return {"items": [{"project": u.project_key, "code": u.code, "owner_name": u.owner_name,
                       "handover_date": u.handover_date.isoformat() if u.handover_date else None,
                       "common_area": u.is_common_area} for u in units], "next": None}
