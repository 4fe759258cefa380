"""Is the service healthy: database reachable, migrations applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.config import PROJECT_ROOT
from app.extensions import db


@dataclass(frozen=True)
class HealthReport:
    status: str
    database: bool
    pending_migrations: bool
    worker: dict[str, Any] | None


def check_health() -> HealthReport:
    try:
        db.session.execute(text("SELECT 1"))
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return HealthReport("degraded", False, True, None)
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    pending = current != heads
    return HealthReport("degraded" if pending else "ok", True, pending, None)
