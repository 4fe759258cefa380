"""`make test` runs the suite twice: on SQLite, then on PostgreSQL (``DATABASE_URL`` set). A test of one database's
own behaviour (psycopg's prepared statements, NOTIFY, pg_dump, the SQLite backup API) runs in that database's pass
and is skipped, with its reason, in the other."""

from __future__ import annotations

import os

import pytest

ON_POSTGRESQL = (os.environ.get("DATABASE_URL") or "").startswith("postgresql")


def postgresql_pass(reason: str) -> pytest.MarkDecorator:
    """Skip outside the PostgreSQL pass, saying why the test needs PostgreSQL."""
    return pytest.mark.skipif(not ON_POSTGRESQL, reason=f"{reason}: runs in the PostgreSQL pass")


def sqlite_pass(reason: str) -> pytest.MarkDecorator:
    """Skip outside the SQLite pass, saying why the test needs SQLite."""
    return pytest.mark.skipif(ON_POSTGRESQL, reason=f"{reason}: runs in the SQLite pass")
