"""The privacy notice (个人信息保护告知) an owner agrees to once per version, recorded with its time (PIPL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.owners import OwnerConsent

# Raise when the notice's text (templates/owner/privacy.html) changes: every owner is asked again.
PRIVACY_VERSION = "2026-12-07"  # the e-mail address kept for callbacks by e-mail


def has_consented(phone: str) -> bool:
    return db.session.scalar(select(OwnerConsent.id).where(OwnerConsent.phone == phone,
                                                           OwnerConsent.version == PRIVACY_VERSION)) is not None


def record_consent(phone: str, *, now: datetime) -> None:
    """Record the owner's consent to the current notice; a second consent (two tabs) keeps the first."""
    if has_consented(phone):
        return
    db.session.add(OwnerConsent(phone=phone, version=PRIVACY_VERSION, consented_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def consented_at(phone: str) -> datetime | None:
    return db.session.scalar(select(OwnerConsent.consented_at).where(OwnerConsent.phone == phone,
                                                                     OwnerConsent.version == PRIVACY_VERSION))
