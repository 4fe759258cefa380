"""The login cool-down per (login name, client address): a growing wait after repeated failures.

A stranger guessing someone's password slows down only the stranger's own address; the account
stays open from everywhere else. The per-address limit across names (one password tried on many
accounts) is Flask-Limiter's, on the login route. Unknown names are counted like known ones, so
the answers say nothing about which names exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models.users import LoginThrottle

FREE_ATTEMPTS = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60
_NAME_LENGTH, _ADDRESS_LENGTH = 80, 64


def seconds_to_wait(username: str, address: str, now: datetime) -> int:
    """How long this name must wait from this address before the next try (0: it may try now)."""
    locked_until = db.session.scalar(select(LoginThrottle.locked_until).where(*_pair(username, address)))
    if locked_until is None or locked_until <= now:
        return 0
    return int((locked_until - now).total_seconds()) + 1


def count_failure(username: str, address: str, now: datetime) -> None:
    """One more failure of the pair, in one atomic upsert; from the fifth on, 30 s doubling up to 15 min."""
    name, where = username[:_NAME_LENGTH], address[:_ADDRESS_LENGTH]
    dialect = db.session.connection().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LoginThrottle)
    statement = upsert.values(username=name, address=where, failures=1).on_conflict_do_update(
        index_elements=[LoginThrottle.username, LoginThrottle.address],
        set_={"failures": LoginThrottle.failures + 1},
    ).returning(LoginThrottle.failures)
    failures = db.session.execute(statement).scalar_one()
    if failures >= FREE_ATTEMPTS:
        delay = min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2 ** min(failures - FREE_ATTEMPTS, 16))
        db.session.execute(update(LoginThrottle).where(*_pair(name, where))
                           .values(locked_until=now + timedelta(seconds=delay)))
    db.session.commit()


def forget_failures(username: str, address: str | None = None) -> None:
    """Lift the cool-down of a name, from one address (a successful login) or from all (an admin's unlock).

    Does not commit: the caller's transaction does.
    """
    condition = _pair(username, address) if address is not None else (
        LoginThrottle.username == username[:_NAME_LENGTH],)
    db.session.execute(delete(LoginThrottle).where(*condition))


def _pair(username: str, address: str) -> tuple[ColumnElement[bool], ...]:
    return (LoginThrottle.username == username[:_NAME_LENGTH], LoginThrottle.address == address[:_ADDRESS_LENGTH])
