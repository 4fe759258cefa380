"""Copying a SQLite deployment into an empty PostgreSQL database (``flask db copy --to …``).

The command migrates the target to head first; this module then moves the rows: every table of the
models in dependency order (parents before children), in batches so memory stays bounded, in one
transaction on the target, then sets every sequence past its table's largest id and compares the row
counts table by table. The source is read from a snapshot (an online backup of the live file), so the
app and the worker may keep running during the copy; writes after the snapshot are not copied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Table, delete, func, insert, inspect, select, text
from sqlalchemy import column as column_named
from sqlalchemy import table as table_named
from sqlalchemy.engine import Engine

import app.models  # noqa: F401  every model registered with db.metadata
from app.extensions import db

DEFAULT_BATCH = 1000


class CopyError(RuntimeError):
    """A copy refused or failed (English, for the operator at the command line)."""


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int


def target_is_empty(engine: Engine) -> bool:
    """No table at all: a database just made with CREATE DATABASE."""
    return not inspect(engine).get_table_names()


def copy_rows(source: Engine, target: Engine, *, batch: int = DEFAULT_BATCH,
              progress: Callable[[str, int], None] | None = None) -> list[TableCount]:
    """Copy every row of ``source`` (SQLite) into ``target`` (PostgreSQL, migrated to the same revision and
    holding nothing but the migrations' own rows); return the row counts per table, which must agree."""
    if source.dialect.name != "sqlite" or target.dialect.name != "postgresql":
        raise CopyError("the copy goes from SQLite to PostgreSQL")
    _require_same_revision(source, target)
    tables = _tables_in_both(source, target)
    with source.connect() as reader, target.begin() as writer:
        for table in reversed(tables):  # the rows the migrations seeded (roles, departments…) make way
            writer.execute(delete(table))
        for table in tables:
            copied = _copy_table(reader, writer, table, _shared_columns(source, target, table), batch)
            if progress is not None:
                progress(table.name, copied)
        _set_sequences(writer)
    counts = [TableCount(table.name, _count(source, table), _count(target, table)) for table in tables]
    wrong = [count for count in counts if count.source != count.target]
    if wrong:
        raise CopyError("row counts differ: " + ", ".join(f"{c.table} {c.source} → {c.target}" for c in wrong))
    return counts


def _require_same_revision(source: Engine, target: Engine) -> None:
    revisions = []
    for engine in (source, target):
        with engine.connect() as connection:
            revisions.append(set(MigrationContext.configure(connection).get_current_heads()))
    if revisions[0] != revisions[1]:
        raise CopyError(f"the source is at {sorted(revisions[0])} and the target at {sorted(revisions[1])}: "
                        "run flask db upgrade on the source first")


def _tables_in_both(source: Engine, target: Engine) -> list[Table]:
    """The models' tables, parents first (SQLite's own search index, ticket_search, is rebuilt by no one:
    PostgreSQL searches with a trigram index on tickets instead)."""
    present = set(inspect(source).get_table_names()) & set(inspect(target).get_table_names())
    return [table for table in db.metadata.sorted_tables if table.name in present]


def _shared_columns(source: Engine, target: Engine, table: Table) -> list[Column[object]]:
    names = ({column["name"] for column in inspect(source).get_columns(table.name)}
             & {column["name"] for column in inspect(target).get_columns(table.name)})
    return [column for column in table.columns if column.name in names]


def _copy_table(reader: Connection, writer: Connection, table: Table, columns: list[Column[object]],
                batch: int) -> int:
    keys = [column.key for column in columns]
    order = list(table.primary_key.columns) or columns
    rows = reader.execution_options(yield_per=batch).execute(select(*columns).order_by(*order))
    copied = 0
    for part in rows.partitions():
        writer.execute(insert(table), [dict(zip(keys, row, strict=True)) for row in part])
        copied += len(part)
    return copied


def _set_sequences(writer: Connection) -> int:
    """Every serial or identity column's sequence set past the largest id (next insert gets max + 1)."""
    owned = writer.execute(text(
        "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL")).all()
    for table_name, column_name, sequence in owned:
        largest = writer.execute(select(func.max(column_named(column_name)))
                                 .select_from(table_named(table_name))).scalar()
        writer.execute(text("SELECT setval(:sequence, :value, :called)"),
                       {"sequence": sequence, "value": largest or 1, "called": largest is not None})
    return len(owned)


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())
