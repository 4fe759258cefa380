"""Who is calling: API tokens and passwords."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
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
    locale: str = "zh"

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_keys


_USERS, _TOKENS = User.__table__, ApiToken.__table__
_PRINCIPAL_COLUMNS = (_USERS.c.id, _USERS.c.username, _USERS.c.locale, user_roles.c.role_key,
                      user_departments.c.department_key)
_WITH_ROLES = (_USERS.outerjoin(user_roles, user_roles.c.user_id == _USERS.c.id)
               .outerjoin(user_departments, user_departments.c.user_id == _USERS.c.id))
_PRINCIPAL_BY_TOKEN = (
    select(*_PRINCIPAL_COLUMNS)
    .select_from(_WITH_ROLES.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None),
           _USERS.c.is_active.is_(True))
)
_PRINCIPAL_BY_ID = (
    select(*_PRINCIPAL_COLUMNS).select_from(_WITH_ROLES)
    .where(_USERS.c.id == bindparam("user_id"), _USERS.c.is_active.is_(True))
)
FREE_ATTEMPTS = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60


def user_for_token(token: str) -> Principal:
    """The active user holding this unrevoked token, read in one query; raise UnauthorizedError."""
    rows = db.session.connection().execute(_PRINCIPAL_BY_TOKEN, {"token_hash": hash_token(token)}).all()
    if not rows:
        raise UnauthorizedError("令牌无效 / invalid or revoked token")
    return _principal(rows)


def principal_for_user(user_id: int) -> Principal | None:
    """The active user with this id (a browser session's user), or None."""
    rows = db.session.connection().execute(_PRINCIPAL_BY_ID, {"user_id": user_id}).all()
    return _principal(rows) if rows else None


def _principal(rows: Sequence[Any]) -> Principal:
    return Principal(rows[0].id, rows[0].username, frozenset(r.role_key for r in rows if r.role_key),
                     frozenset(r.department_key for r in rows if r.department_key), rows[0].locale)


class LoginRefusedError(UnauthorizedError):
    code = "login_refused"


def log_in(username: str, password: str, clock: Clock) -> Principal:
    """Check a password; after repeated failures the account waits longer and longer (30 s up to 15 min)."""
    user = db.session.scalars(select(User).where(User.username == username, User.is_active.is_(True))).first()
    now = clock.now()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise LoginRefusedError("尝试次数过多，请稍后再试 / too many attempts; try again later",
                                retry_after=int((user.locked_until - now).total_seconds()) + 1)
    if user is None or not password_matches(user, password):
        if user is not None:
            _count_failure(user, now)
        raise LoginRefusedError("用户名或密码错误 / wrong username or password")
    user.failed_logins, user.locked_until = 0, None
    db.session.commit()
    principal = principal_for_user(user.id)
    assert principal is not None  # the user was just read as active
    return principal


def _count_failure(user: User, now: datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= FREE_ATTEMPTS:
        delay = min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2 ** (user.failed_logins - FREE_ATTEMPTS))
        user.locked_until = now + timedelta(seconds=delay)
    db.session.commit()


def set_locale(user_id: int, locale: str) -> None:
    db.session.execute(update(User).where(User.id == user_id).values(locale=locale))
    db.session.commit()


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
