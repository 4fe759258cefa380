"""People, their roles and departments, and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.types import UTCDateTime

user_roles = Table(
    "user_roles", Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_key", ForeignKey("roles.key"), primary_key=True),
)
user_departments = Table(
    "user_departments", Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_key", ForeignKey("departments.key"), primary_key=True),
)


class Role(Base):
    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(80))


class Department(Base):
    __tablename__ = "departments"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(80))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locale: Mapped[str] = mapped_column(String(8), default="zh", server_default="zh")
    # Part of the browser session's id: raised by logout and password changes, which ends older sessions.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    phone: Mapped[str | None] = mapped_column(String(20))  # a mobile for urgent texts; personal: admin pages only
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    departments: Mapped[list[Department]] = relationship(secondary=user_departments, lazy="selectin")

    @property
    def role_keys(self) -> frozenset[str]:
        return frozenset(role.key for role in self.roles)

    @property
    def department_keys(self) -> frozenset[str]:
        return frozenset(department.key for department in self.departments)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_keys


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    label: Mapped[str | None] = mapped_column(String(80))  # what the token is for, on the token lists
    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed logins of one login name from one client address, and how long that pair must wait.

    Keyed by the typed name (known or not) and the address, so a stranger's guesses slow down only
    the stranger, and a lockout says nothing about whether the name exists.
    """

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
