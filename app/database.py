"""Connection settings per database: SQLite in WAL mode with a busy timeout; the set-up lock."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

# The key of the PostgreSQL advisory lock `flask setup` holds while it migrates and deploys
# ("kefu" in ASCII): every node started at once waits for it, then finds nothing left to do.
SETUP_LOCK_KEY = 0x6B656675


def configure_database(engine: Engine, *, busy_timeout_ms: int) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the writer. synchronous=FULL syncs the WAL at every commit, so
        # a step the user saw succeed survives a power loss too (NORMAL would save ~0.3 ms a commit
        # and could lose the last commits); see README "Durability".
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@contextmanager
def setup_lock(engine: Engine) -> Iterator[None]:
    """Hold the database-wide set-up lock: one node migrates and deploys, the others wait, then find it done.

    PostgreSQL: a session advisory lock on a connection of its own (released by the server if the process
    dies). SQLite: an exclusive file lock beside the database file (one machine; nothing for :memory:).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(Path(f"{database}.setup-lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
