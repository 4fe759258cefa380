"""Connection settings per database: SQLite in WAL mode with a busy timeout; on PostgreSQL a transaction that only
read ends with COMMIT; the set-up lock."""

from __future__ import annotations

import fcntl
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

# The key of the PostgreSQL advisory lock `flask setup` holds while it migrates and deploys
# ("kefu" in ASCII): every node started at once waits for it, then finds nothing left to do.
SETUP_LOCK_KEY = 0x6B656675


def configure_database(engine: Engine, *, busy_timeout_ms: int) -> None:
    if engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _note_writes)
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


# PostgreSQL: how a session's transaction ends. psycopg prepares a statement on the server once it has run 5 times on a
# connection (the step's one statement of CTEs among them), and runs DEALLOCATE ALL at every ROLLBACK. A request that
# only read ended its transaction with a ROLLBACK (the session's close), so nothing stayed prepared past a GET. A
# transaction that only read ends with COMMIT instead: as cheap, and the prepared statements stay. Anything else (a
# write, a failed statement, a write the ORM still holds) is rolled back as before, so a failed request never commits
# half of anything. (The pool's ``reset_on_return="commit"`` would not do: it commits whatever is left, writes
# included, and never sees the session's transactions, which the session's close has rolled back already.)
_CONNECTION = "kefu_transaction_connection"  # Session.info: the connection of the session's PostgreSQL transaction
_WROTE = "kefu_wrote"  # Connection.info: the transaction ran something that is not a read
# Statements that leave nothing a COMMIT would keep and a ROLLBACK undo (SET LOCAL ends with the transaction either
# way). A WITH is a read when none of its parts is a data-modifying statement (FOR UPDATE counts as one: harmless).
_READS = ("select", "show", "set local")
_CHANGES = re.compile(r"\b(?:insert|update|delete|merge)\b", re.IGNORECASE)


def _note_writes(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if _WROTE in conn.info:
        return
    head = statement.lstrip()[:9].lower()
    if head.startswith(_READS) or (head.startswith("with") and not _CHANGES.search(statement)):
        return
    conn.info[_WROTE] = True


def note_transaction_connection(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    """The session's ``after_begin``: remember its transaction's connection (PostgreSQL), and that it wrote nothing
    yet, so ``end_session`` can tell how it may end without asking the session for a connection (which would open
    one for a request that never used the database)."""
    if connection.dialect.name == "postgresql":
        connection.info.pop(_WROTE, None)
        session.info[_CONNECTION] = connection


def end_session(session: Session) -> None:
    """End the session's transaction before the session is removed: on PostgreSQL a transaction that only read (no
    write ran, none pending in the ORM, no statement failed) commits; any other is left to the session's close,
    which rolls it back. Never opens a connection."""
    connection: Connection | None = session.info.pop(_CONNECTION, None)
    if (connection is None or connection.closed or connection.invalidated or not session.in_transaction()
            or _WROTE in connection.info):
        return
    if session.new or session.dirty or session.deleted:  # a commit would flush them
        return
    dbapi: Any = connection.connection.dbapi_connection  # psycopg's
    if dbapi is None or dbapi.info.transaction_status != TransactionStatus.INTRANS:  # failed (INERROR), or ended
        return
    try:
        session.commit()
    except SQLAlchemyError:  # what it read is answered already; the session's close rolls back
        logging.getLogger(__name__).warning("a read-only transaction could not commit", exc_info=True)


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
