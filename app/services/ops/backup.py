"""Backups of a running deployment, and the PostgreSQL restore.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database in one step under a
read transaction. In WAL mode readers do not block the writer, so the app and the worker keep running;
the copy is the database as of one commit. PostgreSQL: ``pg_dump -Fc`` reads one snapshot (a
repeatable-read transaction) while the app runs; ``pg_restore`` loads it into a new, empty database.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url


class BackupError(RuntimeError):
    """A backup or restore that cannot be made (English, for the operator at the command line)."""


def backup_sqlite(database: Path, target: Path, *, busy_timeout_ms: int = 5000) -> None:
    """Copy the live SQLite ``database`` into the new file ``target`` and check the copy's integrity."""
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file")
    if not database.is_file():
        raise BackupError(f"no SQLite database at {database}")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=busy_timeout_ms / 1000)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # pages=-1: the whole database in one step, so a write meanwhile cannot restart it
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        finally:
            copy.close()
    finally:
        source.close()
    if verdict != "ok":
        target.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {verdict}")


def backup_postgres(url: str, target: Path) -> None:
    """``pg_dump -Fc`` of the database at ``url`` (a SQLAlchemy URL) into the new file ``target``."""
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file")
    libpq, environment = _libpq(url)
    _run([_client(url, "pg_dump"), "--format=custom", "--no-owner", "--file", str(target), "--dbname", libpq],
         environment)


def restore_postgres(dump: Path, url: str) -> None:
    """``pg_restore`` a ``pg_dump -Fc`` file into the EMPTY database at ``url`` (create it first)."""
    if _scalar(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"):
        raise BackupError("the target database is not empty: restore into a new database (createdb)")
    libpq, environment = _libpq(url)
    _run([_client(url, "pg_restore"), "--no-owner", "--exit-on-error", "--dbname", libpq, str(dump)], environment)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq form of a SQLAlchemy URL; the password travels in PGPASSWORD, never on the command line."""
    parsed: URL = make_url(url)
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _client(url: str, program: str) -> str:
    """The client matching the server's major version (Debian keeps one per version), else the one on PATH."""
    major = int(_scalar(url, "SHOW server_version_num")) // 10000
    matching = Path(f"/usr/lib/postgresql/{major}/bin/{program}")
    if matching.exists():
        return str(matching)
    found = shutil.which(program)
    if found is None:
        raise BackupError(f"{program} is not installed (Debian: apt-get install postgresql-client-{major})")
    return found


def _run(command: list[str], environment: dict[str, str]) -> None:
    # A list, no shell: the program is a resolved PostgreSQL client, the arguments our own.
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    if finished.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {finished.stderr.strip()}")


def _scalar(url: str, statement: str) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(statement)).scalar_one()
    finally:
        engine.dispose()
