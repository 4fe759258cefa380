"""Who is calling: API tokens and passwords."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.clock import Clock
from app.extensions import db
from app.models import ApiToken, User
from app.models.users import user_departments, user_roles
from app.services.errors import UnauthorizedError


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, clock: Clock) -> str:
    """Create a new API token for ``user``; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=clock.now()))
    db.session.commit()
    return token


@dataclass(frozen=True)
class Principal:
    """Who is acting, with their roles and departments: what every permission check needs."""

    id: int
    username: str
    role_keys: frozenset[str]
    department_keys: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_keys


_USERS, _TOKENS = User.__table__, ApiToken.__table__
_PRINCIPAL_BY_TOKEN = (
    select(_USERS.c.id, _USERS.c.username, user_roles.c.role_key, user_departments.c.department_key)
    .select_from(_USERS.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
                 .outerjoin(user_roles, user_roles.c.user_id == _USERS.c.id)
                 .outerjoin(user_departments, user_departments.c.user_id == _USERS.c.id))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None),
           _USERS.c.is_active.is_(True))
)


def user_for_token(token: str) -> Principal:
    """The active user holding this unrevoked token, read in one query; raise UnauthorizedError."""
    rows = db.session.connection().execute(_PRINCIPAL_BY_TOKEN, {"token_hash": hash_token(token)}).all()
    if not rows:
        raise UnauthorizedError("令牌无效 / invalid or revoked token")
    return Principal(rows[0].id, rows[0].username, frozenset(r.role_key for r in rows if r.role_key),
                     frozenset(r.department_key for r in rows if r.department_key))


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
