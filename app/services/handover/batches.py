"""A project's handover batch imported from a spreadsheet (收楼批次导入).

Rows are checked one by one: a refused row is listed with its number and reason (unknown building, bad date,
duplicate unit, missing owner or phone, a bad e-mail address or contract end date, …) and the good rows are
applied together, in one transaction: their units (created, or their owner, handover date and, when the sheet
gives them, the owner's e-mail and the property-service contract's end date updated), the batch, and one
``handover`` process per unit that leads the inspection. Nothing is half-applied: if any good row cannot be
applied, none is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Project, Unit
from app.models.handover import HandoverBatch, HandoverUnit
from app.services.access import Actor
from app.services.errors import ConflictError, ForbiddenError, NotFoundError, Text, msg
from app.services.handover.spreadsheet import SheetRow, read_rows
from app.services.jobs.notifications import is_mobile_number
from app.services.people.organisation import is_email_address, ticket_project_hidden
from app.services.runtime import Runtime
from app.services.steps.plan import step_transaction
from app.services.work.instances import start_for_the_system

PROCESS_ID = "handover"
IMPORTERS = frozenset({"cs_supervisor", "property_manager"})
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


@dataclass(frozen=True)
class RefusedRow:
    row: int
    reason: Text  # said in the reader's language by the web layer
    values: dict[str, str]


@dataclass(frozen=True)
class GoodRow:
    row: SheetRow
    handover_date: date
    contract_end_date: date | None  # None: the sheet leaves it out, the unit keeps what it had


@dataclass(frozen=True)
class ImportReport:
    batch_id: int | None  # None when no row was good
    applied: int
    refused: list[RefusedRow]


def may_import(user: Actor) -> bool:
    return user.is_admin or bool(user.role_keys & IMPORTERS)


def import_batch(rt: Runtime, project_key: str, filename: str, content: bytes, *, user: Actor) -> ImportReport:
    """Import a handover batch; raise Forbidden, NotFound (project), InvalidRequest (the file itself) or
    Conflict (the handover process is not deployed)."""
    if not may_import(user) or ticket_project_hidden(project_key, user):
        raise ForbiddenError(msg("your role may not import handover batches"))
    if db.session.get(Project, project_key) is None:
        raise NotFoundError(msg("no project %(key)s", key=project_key))
    good, refused = _check_rows(project_key, read_rows(filename, content))
    if not good:
        return ImportReport(None, 0, refused)
    now = rt.clock.now()
    with step_transaction():
        batch = HandoverBatch(project_key=project_key, filename=filename[:200], rows_applied=len(good),
                              refused=[{"row": r.row, "reason": r.reason.msgid, "params": dict(r.reason.params)}
                                       for r in refused],
                              imported_by_id=user.id, imported_at=now)
        db.session.add(batch)
        db.session.flush()
        for checked in good:
            _apply(rt, batch.id, project_key, checked, user=user)
    return ImportReport(batch.id, len(good), refused)


def _check_rows(project_key: str, rows: list[SheetRow]) -> tuple[list[GoodRow], list[RefusedRow]]:
    buildings = set(db.session.scalars(select(Unit.building).where(
        Unit.project_key == project_key, Unit.is_common_area.is_(False), Unit.building.is_not(None))))
    handed_over = set(db.session.scalars(select(HandoverUnit.unit_code).where(HandoverUnit.project_key == project_key)))
    seen: dict[str, int] = {}
    good: list[GoodRow] = []
    refused: list[RefusedRow] = []
    for row in rows:
        checked = _check_row(row, buildings, handed_over, seen)
        if isinstance(checked, GoodRow):
            good.append(checked)
        else:
            refused.append(RefusedRow(row.number, checked, row.values))
    return good, refused


def _check_row(row: SheetRow, buildings: set[str | None], handed_over: set[str],
               seen: dict[str, int]) -> Text | GoodRow:
    """The row's dates, or why the row is refused."""
    values = row.values
    code = unit_code(values["building"], values["room"])
    if not values["building"] or not values["room"]:
        return msg("building or room missing")
    if len(values["room"]) > 20:
        return msg("room %(room)s is too long", room=values["room"])
    if values["building"] not in buildings:
        return msg("unknown building %(building)s", building=values["building"])
    if code in seen:
        return msg("duplicate unit %(unit)s (also on row %(row)s)", unit=code, row=seen[code])
    seen[code] = row.number
    if code in handed_over:
        return msg("unit %(unit)s was already imported in a handover batch", unit=code)
    if not values["owner_name"]:
        return msg("owner's name missing")
    if not values["owner_phone"]:
        return msg("owner's phone missing")
    if not is_mobile_number(values["owner_phone"]) or len(values["owner_phone"]) > 20:
        return msg("owner's phone %(phone)s is not a mobile number", phone=values["owner_phone"])
    day = parse_day(values["handover_date"])
    if day is None:
        return msg("bad handover date %(value)s", value=values["handover_date"])
    email, contract_end = values.get("owner_email", ""), values.get("contract_end_date", "")
    if email and not is_email_address(email):
        return msg("owner's e-mail %(email)s is not an e-mail address", email=email)
    contract_end_day = parse_day(contract_end) if contract_end else None
    if contract_end and contract_end_day is None:
        return msg("bad contract end date %(value)s", value=contract_end)
    return GoodRow(row, day, contract_end_day)


def unit_code(building: str, room: str) -> str:
    """The unit's code as the estate writes it: building-room (3栋-1202)."""
    return f"{building}-{room}"


def parse_day(text: str) -> date | None:
    found = _DATE.match(text.strip())
    if found is None:
        return None
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


def _apply(rt: Runtime, batch_id: int, project_key: str, checked: GoodRow, *, user: Actor) -> None:
    values, handed_over = checked.row.values, checked.handover_date
    code = unit_code(values["building"], values["room"])
    unit = db.session.scalar(select(Unit).where(Unit.project_key == project_key, Unit.code == code))
    if unit is None:
        unit = Unit(project_key=project_key, code=code, building=values["building"], room=values["room"])
        db.session.add(unit)
    unit.owner_name, unit.owner_phone = values["owner_name"][:40], values["owner_phone"]
    unit.handover_date = handed_over  # the warranty of every defect's work order counts from it
    if values.get("owner_email"):  # an empty cell keeps what the unit had (planned callbacks by e-mail use it)
        unit.owner_email = values["owner_email"]
    if checked.contract_end_date is not None:  # its expiry is planned a callback (callback_plans.plan_expiring)
        unit.contract_end_date = checked.contract_end_date
    db.session.flush()
    started = start_for_the_system(rt, PROCESS_ID, {
        "project": project_key, "unit": code, "owner_name": unit.owner_name, "owner_phone": unit.owner_phone,
        "handed_over_on": handed_over.isoformat()}, user=user)
    if started is None:
        raise ConflictError(msg("the handover process is not deployed"))
    db.session.add(HandoverUnit(batch_id=batch_id, unit_id=unit.id, project_key=project_key,
                                building=values["building"], unit_code=code, handover_date=handed_over,
                                instance_id=started.instance_id, status="inspection"))
