"""Who is calling: sign-in, sessions, API tokens and passwords."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Dialect, bindparam, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from app.clock import Clock
from app.extensions import db
from app.models import ApiToken, User, user_projects
from app.models.jobs import Notification
from app.models.users import user_departments, user_roles
from app.services import runtime as bundles
from app.services import settings as settings_stamp
from app.services.access import Actor, may_administer
from app.services.errors import NotFoundError, UnauthorizedError, msg
from app.services.figures import working_calendar as calendar_stamp
from app.services.people.login_throttle import count_failure, forget_failures, seconds_to_wait


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User | Principal, clock: Clock, *, label: str = "") -> str:
    """Create a new API token for ``user``; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=clock.now(),
                            label=label.strip()[:80] or None))
    db.session.commit()
    return token


@dataclass(frozen=True)
class TokenView:
    """An API token as its lists show it: never the token itself."""

    token_id: int
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


def list_tokens(user_id: int) -> list[TokenView]:
    """The user's tokens, newest first, revoked ones included (they say when)."""
    rows = db.session.execute(select(ApiToken.id, ApiToken.label, ApiToken.created_at, ApiToken.revoked_at)
                              .where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc()))
    return [TokenView(row.id, row.label or "", row.created_at, row.revoked_at) for row in rows]


def revoke_token(token_id: int, *, by: Actor, now: datetime, owner_id: int | None = None) -> None:
    """Revoke one token of its owner (``by`` themselves, or anyone's when ``by`` administers people).

    ``owner_id`` pins whose token it must be (the admin's page of that person). Revoking twice is
    harmless. Raise NotFoundError for a token that is not there or not one ``by`` may revoke.
    """
    owner = db.session.scalar(select(ApiToken.user_id).where(ApiToken.id == token_id))
    if owner is None or (owner_id is not None and owner != owner_id) or (owner != by.id and not may_administer(by)):
        raise NotFoundError(msg("no token %(token_id)s", token_id=token_id))
    db.session.execute(update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    db.session.commit()


def end_sessions(user_id: int) -> None:
    """Every browser session of the user stops working (logout). Does not commit."""
    db.session.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1))


def end_sessions_and_tokens(user_id: int, now: datetime) -> None:
    """A new password: every session and API token issued before stops working. Does not commit."""
    end_sessions(user_id)
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))


def log_out(user_id: int) -> None:
    end_sessions(user_id)
    db.session.commit()


@dataclass(frozen=True)
class Principal:
    """Who is acting, with their roles and departments: what every permission check needs."""

    id: int
    username: str
    role_keys: frozenset[str]
    department_keys: frozenset[str]
    locale: str = "zh"
    session_version: int = 0  # a browser session carries it; logout and password changes raise it
    # The projects the user is limited to, read with the rest in the request's one query (empty: every project;
    # None: not read, ``organisation.visible_projects`` asks the database).
    project_keys: frozenset[str] | None = None
    display_name: str = ""  # the name staff know the person by (the page header), read in the same query
    # The bundles' (count, highest id) when the principal was read (None: not read): what a process keeps of "the
    # latest version of a process" is current while it is the same (``runtime.LatestBundles``, the menu's rights); a
    # deploy on any node shows at the next request.
    bundles_stamp: tuple[int, int] | None = None
    # A browser session's: the person's unread notifications when the principal was read (the bell on every page;
    # None: not read). The console marks them read by forms that redirect, and the API's answers give the new count.
    unread_notifications: int | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_keys


_USERS, _TOKENS, _NOTIFICATIONS = User.__table__, ApiToken.__table__, Notification.__table__
_KEY_SEPARATOR = "\x1f"  # never in a project key (organisation.KEY_PATTERN)
_PROJECT_KEYS = (select(func.aggregate_strings(user_projects.c.project_key, _KEY_SEPARATOR))
                 .where(user_projects.c.user_id == _USERS.c.id).scalar_subquery())
_PRINCIPAL_COLUMNS = (_USERS.c.id, _USERS.c.username, _USERS.c.display_name, _USERS.c.locale, _USERS.c.session_version,
                      user_roles.c.role_key, user_departments.c.department_key, _PROJECT_KEYS.label("project_keys"))
_WITH_ROLES = (_USERS.outerjoin(user_roles, user_roles.c.user_id == _USERS.c.id)
               .outerjoin(user_departments, user_departments.c.user_id == _USERS.c.id))
# The caches a request may consult learn from its sign-in query whether they are fresh (no read of their own): the
# settings, the working calendar, and the processes' latest versions.
_FRESHNESS = (*settings_stamp.STAMP_COLUMNS, *calendar_stamp.STAMP_COLUMNS, *bundles.STAMP_COLUMNS)
_PRINCIPAL_BY_TOKEN = (
    select(*_PRINCIPAL_COLUMNS, *_FRESHNESS)
    .select_from(_WITH_ROLES.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None),
           _USERS.c.is_active.is_(True))
)
_UNREAD = (select(func.count()).select_from(_NOTIFICATIONS)
           .where(_NOTIFICATIONS.c.user_id == _USERS.c.id, _NOTIFICATIONS.c.read_at.is_(None)).scalar_subquery())
_PRINCIPAL_BY_ID = (  # with what every console page needs besides the freshness stamps: the bell
    select(*_PRINCIPAL_COLUMNS, _UNREAD.label("unread_notifications"), *_FRESHNESS).select_from(_WITH_ROLES)
    .where(_USERS.c.id == bindparam("user_id"), _USERS.c.is_active.is_(True))
)


# Every API call runs the token lookup: its SQL is compiled once per dialect and handed to the driver, without
# SQLAlchemy's per-execution cache lookup of the statement (~15 µs of the lookup's ~35 on SQLite).
_TOKEN_SQL: dict[tuple[str, str], tuple[str, bool]] = {}


def _token_lookup_sql(dialect: Dialect) -> tuple[str, bool]:
    """The token lookup's SQL for ``dialect``, and whether its one parameter is positional."""
    key = (dialect.name, dialect.paramstyle)
    found = _TOKEN_SQL.get(key)
    if found is None:
        compiled = _PRINCIPAL_BY_TOKEN.params(token_hash="").compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True})  # the separator as a literal
        assert not compiled.positional or compiled.positiontup == ["token_hash"]
        found = _TOKEN_SQL[key] = (str(compiled), bool(compiled.positional))
    return found


def user_for_token(token: str) -> Principal:
    """The active user holding this unrevoked token, read in one query; raise UnauthorizedError."""
    connection = db.session.connection()
    sql, positional = _token_lookup_sql(connection.dialect)
    token_hash = hash_token(token)
    rows = connection.exec_driver_sql(sql, (token_hash,) if positional else {"token_hash": token_hash}).all()
    if not rows:
        raise UnauthorizedError(msg("invalid or revoked token"))
    _accept_freshness(rows[0])
    return _principal(rows)


def principal_for_user(user_id: int) -> Principal | None:
    """The active user with this id (a browser session's user), or None."""
    rows = db.session.connection().execute(_PRINCIPAL_BY_ID, {"user_id": user_id}).all()
    if not rows:
        return None
    _accept_freshness(rows[0])
    return _principal(rows)


def _accept_freshness(row: Any) -> None:
    settings_stamp.accept_stamp_of(row)
    calendar_stamp.accept_stamp_of(row)


def _principal(rows: Sequence[Any]) -> Principal:
    return Principal(rows[0].id, rows[0].username, frozenset(r.role_key for r in rows if r.role_key),
                     frozenset(r.department_key for r in rows if r.department_key), rows[0].locale,
                     rows[0].session_version,
                     frozenset(filter(None, (rows[0].project_keys or "").split(_KEY_SEPARATOR))),
                     rows[0].display_name or rows[0].username, bundles_stamp=bundles.bundles_stamp_of(rows[0]),
                     unread_notifications=rows[0]._mapping.get("unread_notifications"))


class LoginRefusedError(UnauthorizedError):
    code = "login_refused"


def log_in(username: str, password: str, clock: Clock, *, address: str) -> Principal:
    """Check a password from a client ``address``; raise LoginRefusedError.

    Repeated failures of one name from one address wait longer and longer (30 s up to 15 min); an
    unknown name costs the same password hash as a known one and is answered in the same words.
    """
    now = clock.now()
    wait = seconds_to_wait(username, address, now)
    if wait:
        raise LoginRefusedError(msg("too many attempts; try again later"), retry_after=wait)
    user = db.session.scalars(select(User).where(User.username == username, User.is_active.is_(True))).first()
    if not _password_checks(user, password):
        count_failure(username, address, now)
        raise LoginRefusedError(msg("wrong username or password"))
    assert user is not None  # a password checks only against a user's hash
    forget_failures(username, address)
    db.session.commit()
    principal = principal_for_user(user.id)
    assert principal is not None  # the user was just read as active
    return principal


def _password_checks(user: User | None, password: str) -> bool:
    if user is None:
        check_password_hash(_dummy_hash(), password)  # the same cost as a real check: no timing oracle
        return False
    return password_matches(user, password)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def set_locale(user_id: int, locale: str) -> None:
    db.session.execute(update(User).where(User.id == user_id).values(locale=locale))
    db.session.commit()


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
