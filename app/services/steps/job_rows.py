"""Writing job rows inside other transactions: an instance's timer job, a ticket's deadline jobs.

Kept apart from app.services.jobs.queue (which runs jobs) so the step writer and the ticket sync can
schedule jobs without importing the worker's side.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from app.models import ACTIVE_STATUSES, JobKind
from app.models.jobs import Job

JOBS = Job.__table__
TIMER_RETRIES = 3


def timer_job_key(instance_id: int) -> str:
    return f"timer:{instance_id}"


def sync_timer_job(connection: Connection, instance_id: int, next_timer_at: datetime | None, status: str,
                   now: datetime) -> None:
    """The instance's timer job follows its earliest waiting timer: upserted, or removed when none waits.

    Upserting frees the job's lock and restores its retries, so the worker that fired the timer
    leaves a fresh job for the next one (in the same transaction as the step).
    """
    key = timer_job_key(instance_id)
    if next_timer_at is None or status not in ACTIVE_STATUSES:
        connection.execute(delete(JOBS).where(JOBS.c.key == key))
        return
    upsert_job(connection, key=key, kind=JobKind.TIMER, due_at=next_timer_at, now=now, instance_id=instance_id,
               retries=TIMER_RETRIES)


def upsert_job(connection: Connection, *, key: str, kind: str, due_at: datetime, now: datetime,
               instance_id: int | None = None, ticket_id: int | None = None, retries: int = 3) -> None:
    """Create the job named ``key`` or move it to ``due_at`` (fresh retries, unlocked)."""
    upsert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(JOBS)
    connection.execute(upsert.values(
        key=key, kind=kind, instance_id=instance_id, ticket_id=ticket_id, due_at=due_at, retries_left=retries,
        attempts=0, created_at=now,
    ).on_conflict_do_update(index_elements=[JOBS.c.key], set_={
        "due_at": due_at, "lock_owner": None, "lock_expires_at": None, "retries_left": retries, "attempts": 0,
        "last_error": None,
    }))


def delete_jobs(connection: Connection, keys: list[str]) -> None:
    connection.execute(delete(JOBS).where(JOBS.c.key.in_(bindparam("keys", expanding=True))), {"keys": keys})
