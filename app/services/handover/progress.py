"""How far each project's and building's handover defects are (收楼遗留问题进度): defects open, overdue,
reworked, the 渗漏裂 hot issues apart, and the days from handover to the owner's closing signature."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Bundle, Project, Ticket, Unit
from app.models.handover import HandoverDefect, HandoverUnit
from app.services.access import Actor
from app.services.errors import ForbiddenError, NotFoundError, msg
from app.services.handover.defects import PROCESS_ID, is_repaired
from app.services.people.organisation import ticket_project_hidden, visible_projects
from app.services.runtime import Runtime

DEFECT_FORM = "handover_defect.json"
VIEWERS = frozenset({"cs_agent", "cs_supervisor", "property_manager", "dept_head", "eng_supervisor"})


@dataclass(frozen=True)
class DefectView:
    ticket_number: str
    stage: str | None
    location: str
    part: str
    defect_type: str
    hot_tag: str | None
    description: str
    round: int
    close_by: datetime
    repair_due_at: datetime | None
    is_repaired: bool
    is_overdue: bool
    is_rework: bool


@dataclass(frozen=True)
class UnitView:
    id: int
    project_key: str
    building: str
    unit_code: str
    owner_name: str | None
    handover_date: date
    status: str  # inspection | repairing | closed
    signed_at: datetime | None
    defects: list[DefectView]

    @property
    def open_count(self) -> int:
        return sum(not defect.is_repaired for defect in self.defects)

    @property
    def hot_count(self) -> int:
        return sum(defect.hot_tag is not None for defect in self.defects)


@dataclass(frozen=True)
class Progress:
    """One project's (``building`` None) or one building's figures."""

    project_key: str
    project_name: str
    building: str | None
    units: int
    units_closed: int
    defects: int
    open: int
    overdue: int
    rework: int
    hot: int
    hot_open: int
    days_to_close: float | None  # the average, handover date to signature, of the closed units


def defect_choices(rt: Runtime) -> dict[str, dict[str, str]]:
    """The titles ("中文 / English") of the defect form's coded choices (part, defect_type), from the deployed
    ``handover`` process; empty when it is not deployed."""
    latest = db.session.scalar(select(Bundle.spec_key).where(Bundle.process_id == PROCESS_ID)
                               .order_by(Bundle.version.desc()).limit(1))
    form = rt.bundles.get(latest).forms.get(DEFECT_FORM, {}) if latest else {}
    fields = form.get("properties") or {}
    return {name: {str(choice.get("const")): str(choice.get("title", ""))
                   for choice in fields.get(name, {}).get("oneOf", [])}
            for name in ("part", "defect_type")}


def may_view(user: Actor) -> bool:
    return user.is_admin or bool(user.role_keys & VIEWERS)


def handover_units(*, user: Actor, now: datetime, project_key: str | None = None) -> list[UnitView]:
    """The handed-over units the user may see (of one project, or all), with their defects; raise Forbidden."""
    if not may_view(user):
        raise ForbiddenError(msg("your role may not see handover defects"))
    return _units(visible_projects(user), project_key, now)


def figures_for(now: datetime, *, timezone: str, allowed_projects: Iterable[str] | None = None) -> list[Progress]:
    """Every project's and building's figures (of ``allowed_projects``), for the dashboard and the weekly
    report, whose pages check their readers themselves."""
    return progress(_units(set(allowed_projects) if allowed_projects is not None else None, None, now),
                    timezone=timezone)


def _units(allowed: set[str] | None, project_key: str | None, now: datetime) -> list[UnitView]:
    query = select(HandoverUnit, Unit.owner_name).join(Unit, Unit.id == HandoverUnit.unit_id)
    if allowed is not None:
        query = query.where(HandoverUnit.project_key.in_(allowed))
    if project_key:
        query = query.where(HandoverUnit.project_key == project_key)
    rows = db.session.execute(query.order_by(HandoverUnit.project_key, HandoverUnit.building,
                                             HandoverUnit.unit_code)).all()
    defects = _defects_by_unit([row.HandoverUnit.id for row in rows], now)
    return [_unit_view(row.HandoverUnit, row.owner_name, defects.get(row.HandoverUnit.id, [])) for row in rows]


def handover_unit(unit_id: int, *, user: Actor, now: datetime) -> UnitView:
    """One handed-over unit with its defects; raise NotFound (also for a project the user may not see)."""
    unit = db.session.get(HandoverUnit, unit_id)
    if unit is None or ticket_project_hidden(unit.project_key, user):
        raise NotFoundError(msg("no handed-over unit %(id)s", id=unit_id))
    if not may_view(user):
        raise ForbiddenError(msg("your role may not see handover defects"))
    owner = db.session.scalar(select(Unit.owner_name).where(Unit.id == unit.unit_id))
    return _unit_view(unit, owner, _defects_by_unit([unit.id], now).get(unit.id, []))


def progress(units: Iterable[UnitView], *, timezone: str) -> list[Progress]:
    """Each project's figures followed by its buildings' figures, by project and building."""
    names = {row.key: row.name for row in db.session.execute(select(Project.key, Project.name))}
    groups: dict[tuple[str, str | None], list[UnitView]] = defaultdict(list)
    for unit in units:
        groups[(unit.project_key, None)].append(unit)
        groups[(unit.project_key, unit.building)].append(unit)
    return [_figures(key, names.get(key[0], key[0]), members, timezone)
            for key, members in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or ""))]


def _figures(key: tuple[str, str | None], name: str, units: list[UnitView], timezone: str) -> Progress:
    defects = [defect for unit in units for defect in unit.defects]
    zone = ZoneInfo(timezone)
    days = [(unit.signed_at.astimezone(zone).date() - unit.handover_date).days
            for unit in units if unit.status == "closed" and unit.signed_at is not None]
    return Progress(
        project_key=key[0], project_name=name, building=key[1], units=len(units),
        units_closed=sum(unit.status == "closed" for unit in units), defects=len(defects),
        open=sum(not d.is_repaired for d in defects), overdue=sum(d.is_overdue for d in defects),
        rework=sum(d.is_rework for d in defects), hot=sum(d.hot_tag is not None for d in defects),
        hot_open=sum(d.hot_tag is not None and not d.is_repaired for d in defects),
        days_to_close=round(sum(days) / len(days), 1) if days else None)


def _defects_by_unit(unit_ids: list[int], now: datetime) -> dict[int, list[DefectView]]:
    if not unit_ids:
        return {}
    rows = db.session.execute(select(HandoverDefect, Ticket).join(Ticket, Ticket.id == HandoverDefect.ticket_id)
                              .where(HandoverDefect.handover_unit_id.in_(unit_ids))
                              .order_by(HandoverDefect.id)).all()
    found: dict[int, list[DefectView]] = defaultdict(list)
    for defect, ticket in rows:
        repaired = is_repaired(ticket)
        found[defect.handover_unit_id].append(DefectView(
            ticket_number=ticket.number, stage=ticket.stage, location=defect.location, part=defect.part,
            defect_type=defect.defect_type, hot_tag=defect.hot_tag, description=defect.description,
            round=defect.round, close_by=defect.close_by, repair_due_at=ticket.due_at, is_repaired=repaired,
            is_overdue=not repaired and now > defect.close_by,
            is_rework=defect.round > 1 or ticket.rework_count > 0))
    return found


def _unit_view(unit: HandoverUnit, owner_name: str | None, defects: list[DefectView]) -> UnitView:
    return UnitView(unit.id, unit.project_key, unit.building, unit.unit_code, owner_name, unit.handover_date,
                    unit.status, unit.signed_at, defects)
