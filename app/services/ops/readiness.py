"""Ready for traffic: the database answers and its schema is at the migrations' head.

Liveness (``/api/v1/health``) says the process and the worker are fine; readiness is what a load
balancer asks before it sends a node requests (a node on a database being migrated is not ready).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from app.config import PROJECT_ROOT
from app.extensions import db


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str | None  # English, for operators: "database unreachable", "migrations behind head"…
    database_revisions: tuple[str, ...]
    head_revisions: tuple[str, ...]


@cache
def head_revisions() -> frozenset[str]:
    """The migrations' head(s) on disk (read once: they change only with a new release)."""
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_revisions() -> frozenset[str]:
    """The revision(s) the database is at; raises SQLAlchemyError when it does not answer.

    Read on the session's own connection, no second one: the proxy asks every 2 s, and a connection returned to the
    pool is rolled back, which on PostgreSQL drops what psycopg had prepared on it (the request's end commits a read).
    """
    try:
        return frozenset(MigrationContext.configure(db.session.connection()).get_current_heads())
    except SQLAlchemyError:
        db.session.rollback()
        raise


def check_readiness() -> Readiness:
    heads = head_revisions()
    try:
        current = database_revisions()
    except SQLAlchemyError:
        return Readiness(False, "database unreachable", (), tuple(sorted(heads)))
    if current != heads:
        reason = "database not migrated" if not current else "database revision is not the migrations' head"
        return Readiness(False, reason, tuple(sorted(current)), tuple(sorted(heads)))
    return Readiness(True, None, tuple(sorted(current)), tuple(sorted(heads)))
