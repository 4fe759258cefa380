"""The owners' channel (业主服务): who lives in a unit besides its owner, sign-in codes, sessions, used links,
and the privacy consent an owner gave."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime


class UnitResident(Base):
    """A phone registered to a unit besides ``units.owner_phone``: a tenant (租户) or a second owner."""

    __tablename__ = "unit_residents"
    __table_args__ = (UniqueConstraint("unit_id", "phone", name="uq_unit_residents_unit_phone"),
                      Index("ix_unit_residents_phone", "phone"))

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))  # digits only, 11 for a mobile
    relation: Mapped[str] = mapped_column(String(10))  # owner | tenant
    name: Mapped[str | None] = mapped_column(String(40))


class OwnerLoginCode(Base):
    """A 6-digit code texted for sign-in: stored hashed, valid a few minutes, used once."""

    __tablename__ = "owner_login_codes"
    __table_args__ = (Index("ix_owner_login_codes_phone", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 of the code, keyed by the phone and a pepper
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_attempts: Mapped[int] = mapped_column(default=0)


class OwnerSession(Base):
    """A signed-in owner's browser: the cookie holds a random token, this row its hash; logout ends the row."""

    __tablename__ = "owner_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    via: Mapped[str] = mapped_column(String(10))  # code | link


class OwnerLinkUse(Base):
    """A personal link that signed an owner in: a link works once (its nonce is unique)."""

    __tablename__ = "owner_link_uses"

    nonce: Mapped[str] = mapped_column(String(40), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    ticket_number: Mapped[str] = mapped_column(String(20))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OwnerConsent(Base):
    """An owner's consent to a version of the privacy notice (PIPL), with when it was given."""

    __tablename__ = "owner_consents"
    __table_args__ = (UniqueConstraint("phone", "version", name="uq_owner_consents_phone_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    version: Mapped[str] = mapped_column(String(20))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
