"""Who an owner is: a mobile number and the units registered to it (as owner or tenant)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Project, Unit
from app.models.owners import UnitResident
from app.services.errors import InvalidFormError, msg

_MOBILE = re.compile(r"1\d{10}")


@dataclass(frozen=True)
class OwnerUnit:
    """One unit an owner may report about and follow: by id, its project and code, and how they relate to it."""

    unit_id: int
    project_key: str
    project_name: str
    code: str
    building: str | None
    relation: str  # owner | tenant


@dataclass(frozen=True)
class OwnerPrincipal:
    """A signed-in owner: their phone (digits) and the units registered to it."""

    phone: str
    units: tuple[OwnerUnit, ...]

    @property
    def unit_ids(self) -> frozenset[int]:
        return frozenset(unit.unit_id for unit in self.units)

    @property
    def project_keys(self) -> frozenset[str]:
        return frozenset(unit.project_key for unit in self.units)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def owns(self, project_key: str, unit_code: str) -> bool:
        return any(unit.project_key == project_key and unit.code == unit_code for unit in self.units)


def normalize_phone(typed: str | None) -> str | None:
    """A mainland mobile number as 11 digits ("+86 138-0013-8000" → "13800138000"), or None when it is not one."""
    digits = re.sub(r"\D", "", typed or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


def mask_phone(phone: str | None) -> str:
    """138****8000: what an owner page shows of any phone number."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(address: str | None) -> str:
    """w***@example.com: what a page shows of an e-mail address to whom it does not need it in full."""
    local, at, domain = (address or "").partition("@")
    if not at:
        return "***" if address else ""
    return f"{local[:1]}***@{domain}"


def owner_emails(owner: OwnerPrincipal) -> dict[int, str]:
    """The e-mail addresses kept for the units the owner owns (by unit id); a tenant is given none of them."""
    owned = [unit.unit_id for unit in owner.units if unit.relation == "owner"]
    if not owned:
        return {}
    rows = db.session.execute(select(Unit.id, Unit.owner_email).where(Unit.id.in_(owned),
                                                                      Unit.owner_phone == owner.phone))
    return {unit_id: email for unit_id, email in rows if email}


def owner_for_phone(phone: str) -> OwnerPrincipal:
    """The owner of a (normalized) number; their units may be none (an unregistered number sees nothing)."""
    owned = db.session.execute(
        select(Unit, Project.name).join(Project, Project.key == Unit.project_key)
        .where(Unit.owner_phone == phone, Unit.is_common_area.is_(False))
    ).all()
    resident = db.session.execute(
        select(Unit, Project.name, UnitResident.relation).join(UnitResident, UnitResident.unit_id == Unit.id)
        .join(Project, Project.key == Unit.project_key).where(UnitResident.phone == phone)
    ).all()
    units = {unit.id: _owner_unit(unit, name, "owner") for unit, name in owned}
    for unit, name, relation in resident:
        units.setdefault(unit.id, _owner_unit(unit, name, relation))
    return OwnerPrincipal(phone, tuple(sorted(units.values(), key=lambda u: (u.project_key, u.code))))


def is_registered(phone: str) -> bool:
    return bool(owner_for_phone(phone).units)


def _owner_unit(unit: Unit, project_name: str, relation: str) -> OwnerUnit:
    return OwnerUnit(unit.id, unit.project_key, project_name, unit.code, unit.building, relation)


def common_areas(project_keys: frozenset[str]) -> list[OwnerUnit]:
    """The common areas (lobby, car park…) of the owner's projects: they may report about these too."""
    rows = db.session.execute(
        select(Unit, Project.name).join(Project, Project.key == Unit.project_key)
        .where(Unit.project_key.in_(project_keys), Unit.is_common_area.is_(True)).order_by(Unit.project_key, Unit.code)
    ).all()
    return [_owner_unit(unit, name, "common") for unit, name in rows]


def register_resident(unit_id: int, phone: str, *, relation: str = "tenant", name: str | None = None) -> None:
    """Register a tenant (or a second owner) of a unit by their mobile number."""
    normalized = normalize_phone(phone)
    if normalized is None:
        raise InvalidFormError(msg("enter an 11-digit mobile number"),
                               errors={"phone": msg("enter an 11-digit mobile number")})
    db.session.add(UnitResident(unit_id=unit_id, phone=normalized, relation=relation, name=name))
    db.session.commit()
