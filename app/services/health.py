"""Is the service healthy: database reachable, migrations applied, the worker keeping up.

The worker is not healthy when it holds a job past the job's lock time (stuck: it hung, or died
without handing the job back) or when a due job has waited longer than ``BEHIND_AFTER`` (no worker
is running, or it cannot keep up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models.jobs import Job
from app.services.ops.readiness import database_revisions, head_revisions

BEHIND_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class HealthReport:
    status: str
    database: bool
    pending_migrations: bool
    worker: dict[str, Any] | None


def check_health(now: datetime | None = None) -> HealthReport:
    """The report at ``now`` (the app's clock; default: the wall clock)."""
    try:
        current = database_revisions()
    except SQLAlchemyError:
        return HealthReport("degraded", False, True, None)
    pending = current != head_revisions()
    if pending:
        return HealthReport("degraded", True, pending, None)
    worker = _worker_backlog(now or datetime.now(UTC))
    return HealthReport("ok" if worker["status"] == "ok" else "degraded", True, pending, worker)


def _worker_backlog(now: datetime) -> dict[str, Any]:
    """Is the worker keeping up: jobs past due and not being run (unlocked, or locked by a worker that
    went past the lock time), the oldest one's due time and age, jobs held past their lock, incidents."""
    live = Job.retries_left > 0
    lock_expired = Job.lock_owner.is_not(None) & (Job.lock_expires_at < now)
    waiting = live & (Job.due_at < now) & (Job.lock_owner.is_(None) | lock_expired)
    overdue, oldest = db.session.execute(select(func.count(), func.min(Job.due_at)).where(waiting)).one()
    stuck = db.session.scalar(select(func.count()).where(live & lock_expired)) or 0
    incidents = db.session.scalar(select(func.count()).where(Job.retries_left <= 0)) or 0
    db.session.rollback()
    oldest_at = _aware(oldest)
    age = max(0, int((now - oldest_at).total_seconds())) if oldest_at else None
    status = "stuck" if stuck else ("behind" if age is not None and age > BEHIND_AFTER.total_seconds() else "ok")
    return {"status": status, "overdue_jobs": overdue, "oldest_due_at": oldest_at.isoformat() if oldest_at else None,
            "oldest_overdue_seconds": age, "stuck_jobs": stuck, "incidents": incidents}


def _aware(moment: datetime | str | None) -> datetime | None:
    """SQLite gives min() of a date-time column back as naive text (UTC)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
