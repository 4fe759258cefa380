"""The buildings of the estate, for their QR sheets (a code in the lift lobby opens the owners' pages)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Project, Unit
from app.services.errors import NotFoundError, msg


@dataclass(frozen=True)
class Building:
    project_key: str
    project_name: str
    building: str
    units: int


def buildings(project_keys: set[str] | None = None) -> list[Building]:
    """Every building with registered units (of ``project_keys``, or every project), by project and name."""
    query = (select(Unit.project_key, Project.name, Unit.building, Unit.id)
             .join(Project, Project.key == Unit.project_key)
             .where(Unit.building.is_not(None), Unit.building != "", Unit.is_common_area.is_(False)))
    if project_keys is not None:
        query = query.where(Unit.project_key.in_(project_keys))
    counted: dict[tuple[str, str, str], int] = {}
    for project_key, name, building, _unit_id in db.session.execute(query):
        key = (project_key, name, str(building))
        counted[key] = counted.get(key, 0) + 1
    return [Building(key, name, building, count)
            for (key, name, building), count in sorted(counted.items(), key=lambda item: (item[0][0], item[0][2]))]


def building(project_key: str, name: str) -> Building:
    """One building; raise NotFoundError when the project has no unit in it."""
    found = next((b for b in buildings({project_key}) if b.building == name), None)
    if found is None:
        raise NotFoundError(msg("no building %(name)s", name=name))
    return found
