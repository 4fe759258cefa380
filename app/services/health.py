"""Is the service healthy: database reachable, migrations applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.config import PROJECT_ROOT
from app.extensions import db
from app.models.jobs import Job


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
    return HealthReport("degraded" if pending else "ok", True, pending, None if pending else _worker_backlog())


def _worker_backlog() -> dict[str, Any]:
    """Is the worker keeping up: jobs past due and not taken, the oldest one's due time, incidents."""
    now = datetime.now(UTC)
    waiting = (Job.due_at < now) & (Job.retries_left > 0) & (Job.lock_owner.is_(None))
    overdue, oldest = db.session.execute(select(func.count(), func.min(Job.due_at)).where(waiting)).one()
    incidents = db.session.scalar(select(func.count()).where(Job.retries_left <= 0)) or 0
    db.session.rollback()
    return {"overdue_jobs": overdue, "oldest_due_at": oldest.isoformat() if oldest else None,
            "incidents": incidents}
