"""The job table: taking due jobs, running them, retrying failures, incidents and their repair.

The design of the Camunda and Flowable job executors: a worker takes due jobs by writing a lock
owner and a lock expiry in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers on
several machines never take the same job); a crashed worker's jobs are taken again once their lock
expires. One writer per instance comes from the instance's lock version: a job that loses the race
is put back without spending a retry. Failures retry with back-off; when no retry is left the job
becomes an incident that an admin sees and retries. Every attempt counts: a job taken again after
its lock expired (its worker died, or hung past the lock) spends a retry as a failure would.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, delete, func, or_, select, update

from app.engine import EngineRunError, RunError
from app.extensions import db
from app.models import ACTIVE_STATUSES, InstanceStatus, JobKind, ProcessInstance, Ticket
from app.models.jobs import Job
from app.services.access import Actor
from app.services.errors import ConflictError, NotFoundError, msg
from app.services.figures.reports import generate_weekly_report
from app.services.jobs.deadlines import run_deadline_job
from app.services.jobs.notifications import OUTBOX
from app.services.runtime import Runtime
from app.services.steps.job_rows import JOBS, TIMER_RETRIES, sync_timer_job, timer_job_key, upsert_job
from app.services.steps.plan import InstanceOutcome, event_row, open_tasks_of, plan_error, plan_step, step_transaction
from app.services.steps.write import write_step
from app.services.work.after_step import StepDone, run_after_step
from app.services.work.tickets import sync_ticket_after_step
from app.services.work.timers import fire_due_timers

log = logging.getLogger("kefu.jobs")

RETRY_BACKOFF = (timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))


@dataclass(frozen=True)
class TakenJob:
    id: int
    key: str
    kind: str
    instance_id: int | None
    ticket_id: int | None
    due_at: datetime
    retries_left: int


def _take_statement(dialect: str) -> Any:
    """Jobs due, not locked (or whose lock expired), oldest first — locked for this worker in one statement."""
    due = (select(JOBS.c.id)
           .where(JOBS.c.due_at < bindparam("now"), JOBS.c.retries_left > 0,
                  or_(JOBS.c.lock_owner.is_(None), JOBS.c.lock_expires_at < bindparam("now")))
           .order_by(JOBS.c.due_at).limit(bindparam("limit")))
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)  # workers never wait on, nor take, each other's jobs
    abandoned = JOBS.c.lock_owner.is_not(None)  # its lock expired: the attempt before never finished
    return (update(JOBS).where(JOBS.c.id.in_(due.scalar_subquery()))
            .values(lock_owner=bindparam("owner"), lock_expires_at=bindparam("expires"), attempts=JOBS.c.attempts + 1,
                    retries_left=case((abandoned, JOBS.c.retries_left - 1), else_=JOBS.c.retries_left))
            .returning(JOBS.c.id, JOBS.c.key, JOBS.c.kind, JOBS.c.instance_id, JOBS.c.ticket_id, JOBS.c.due_at,
                       JOBS.c.retries_left))


_TAKE = {dialect: _take_statement(dialect) for dialect in ("postgresql", "sqlite")}


def take_due_jobs(owner: str, *, now: datetime, lock_seconds: int, limit: int) -> list[TakenJob]:
    """Lock up to ``limit`` due jobs for ``owner`` (committed at once, so other workers see the lock)."""
    connection = db.session.connection()
    rows = connection.execute(_TAKE[connection.dialect.name], {
        "owner": owner, "expires": now + timedelta(seconds=lock_seconds), "now": now, "limit": limit}).all()
    db.session.commit()
    return sorted((TakenJob(*row) for row in rows), key=lambda job: job.due_at)


# --- running one job ---------------------------------------------------------------------------------

Handler = Callable[[Runtime, TakenJob, datetime], None]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register what runs a job of ``kind`` (a job that is done deletes itself in its transaction)."""
    def register(function: Handler) -> Handler:
        _HANDLERS[kind] = function
        return function
    return register


class AbandonedJobError(Exception):
    """A job whose every try ended with its worker gone or hung past the lock time."""


def run_job(rt: Runtime, job: TakenJob, *, owner: str, retries: int) -> str:
    """Run one taken job; returns what became of it: done | requeued | retry | incident."""
    now = rt.clock.now()
    if job.retries_left <= 0:  # the last try was spent by a worker that never finished it: do not run it again
        return _record_failure(rt, job, owner, AbandonedJobError(
            "the worker running this job stopped or hung past its lock time, on every try"), now, retries)
    try:
        _HANDLERS[job.kind](rt, job, now)
    except ConflictError:
        db.session.rollback()
        unlock(job, owner)  # another writer moved the instance first: try again, no retry spent
        return "requeued"
    except Exception as exc:
        db.session.rollback()
        log.warning("job %s failed: %s", job.key, exc)
        return _record_failure(rt, job, owner, exc, now, retries)
    finally:
        db.session.remove()  # writes go through Core: drop the ORM copies read for this job
    return "done"


def unlock(job: TakenJob, owner: str) -> None:
    db.session.execute(update(JOBS).where(JOBS.c.id == job.id, JOBS.c.lock_owner == owner)
                       .values(lock_owner=None, lock_expires_at=None))
    db.session.commit()


def _record_failure(rt: Runtime, job: TakenJob, owner: str, exc: Exception, now: datetime, retries: int) -> str:
    message = _message_of(exc)
    left = min(job.retries_left, retries) - 1
    mine = (JOBS.c.id == job.id) & (JOBS.c.lock_owner == owner)
    with step_transaction():
        if left > 0:
            backoff = RETRY_BACKOFF[min(retries - left - 1, len(RETRY_BACKOFF) - 1)]
            db.session.execute(update(JOBS).where(mine).values(
                retries_left=left, due_at=now + backoff, lock_owner=None, lock_expires_at=None, last_error=message))
            return "retry"
        db.session.execute(update(JOBS).where(mine).values(
            retries_left=0, lock_owner=None, lock_expires_at=None, last_error=message))
        if job.kind == JobKind.TIMER and job.instance_id is not None:  # a failed reminder leaves the flow alone
            _put_instance_in_error(job.instance_id, exc, message, now)
    log.error("job %s is an incident after %d tries: %s", job.key, retries, message)
    return "incident"


def _put_instance_in_error(instance_id: int, exc: Exception, message: str, now: datetime) -> None:
    instance = db.session.get(ProcessInstance, instance_id, populate_existing=True)
    if instance is None or instance.status not in ACTIVE_STATUSES:
        return
    details = exc.details if isinstance(exc, EngineRunError) else RunError(
        message, None, None, tuple(traceback.format_exception_only(exc)))
    failed = plan_error(instance_id=instance_id, lock_version=instance.lock_version, error=details, now=now)
    failed.events.append(event_row(instance_id, "incident", at=now, data={"message": message}))
    write_step(failed)


def _message_of(exc: Exception) -> str:
    if isinstance(exc, EngineRunError):
        return exc.details.message[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def finish(job: TakenJob) -> None:
    """A job whose work is done removes itself (only this run's row: a re-scheduled job keeps its new due)."""
    db.session.execute(delete(JOBS).where(JOBS.c.id == job.id, JOBS.c.due_at == job.due_at))


@handler(JobKind.TIMER)
def _run_timer(rt: Runtime, job: TakenJob, now: datetime) -> None:
    if job.instance_id is None:
        return
    instance = db.session.get(ProcessInstance, job.instance_id, populate_existing=True)
    if instance is None or instance.status not in ACTIVE_STATUSES or instance.next_timer_at is None \
            or instance.next_timer_at >= now:
        # Nothing to fire now (moved, suspended or already fired): the job follows the instance.
        with step_transaction():
            reschedule_timer_job(job.instance_id, now=now)
        return
    fire_due_timers(rt, job.instance_id, raise_errors=True)  # its step re-writes (or removes) this job


def reschedule_timer_job(instance_id: int, *, now: datetime) -> None:
    """Make the instance's timer job agree with its row (after suspend, resume, migrate, terminate).

    Runs in the caller's transaction.
    """
    row = db.session.execute(select(ProcessInstance.next_timer_at, ProcessInstance.status)
                             .where(ProcessInstance.id == instance_id)).first()
    if row is None:
        db.session.execute(delete(JOBS).where(JOBS.c.key == timer_job_key(instance_id)))
        return
    sync_timer_job(db.session.connection(), instance_id, row.next_timer_at, row.status, now)


# --- incidents ---------------------------------------------------------------------------------------

def incidents(*, limit: int = 200) -> list[Job]:
    """Jobs with no retry left, newest first (instance incidents also show as the instance's error)."""
    return list(db.session.scalars(select(Job).where(Job.retries_left <= 0).order_by(Job.id.desc()).limit(limit)))


def retry_instance(rt: Runtime, instance_id: int, *, actor: Actor, reason: str) -> InstanceOutcome:
    """Run an instance in ``error`` again after a fix: due timers fire, the engine runs on.

    The step, the audit event (who, why) and the refreshed timer job commit together; if it fails
    again the instance stays in ``error`` with the new details.
    """
    instance = db.session.get(ProcessInstance, instance_id, populate_existing=True)
    if instance is None:
        raise NotFoundError(msg("no instance %(instance_id)s", instance_id=instance_id))
    if instance.status != InstanceStatus.ERROR:
        raise ConflictError(msg("the instance is %(status)s: nothing to retry", status=instance.status))
    now = rt.clock.now()
    open_tasks = open_tasks_of(instance_id)
    try:
        result = rt.engine.fire_due_timers(instance.state)
    except EngineRunError as exc:
        failed = plan_error(instance_id=instance_id, lock_version=instance.lock_version, error=exc.details, now=now)
        failed.events.append(event_row(instance_id, "retried", at=now, actor_id=actor.id,
                                       data={"reason": reason, "message": exc.details.message}))
        with step_transaction():
            write_step(failed)
        return InstanceOutcome(instance_id, InstanceStatus.ERROR, open_tasks)
    facts = rt.bundles.get(instance.spec_key)
    step, still_open = plan_step(instance_id=instance_id, lock_version=instance.lock_version, result=result,
                                 facts=facts, now=now, open_tasks=open_tasks)
    step.events.append(event_row(instance_id, "retried", at=now, actor_id=actor.id, data={"reason": reason}))
    ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.instance_id == instance_id))
    with step_transaction():
        write_step(step)  # also gives the timer job back its retries
        if ticket_id is not None:
            sync_ticket_after_step(rt, ticket_id, result, user=actor)
        run_after_step(rt, StepDone(instance_id, facts.process_id, result, "timer", actor=actor))
    return InstanceOutcome(instance_id, result.status, still_open)


def retry_job(job_id: int, *, now: datetime) -> None:
    """Give an incident job (not bound to an errored instance) its retries back, due now."""
    with step_transaction():
        moved = db.session.connection().execute(update(JOBS).where(JOBS.c.id == job_id).values(
            retries_left=TIMER_RETRIES, due_at=now, lock_owner=None, lock_expires_at=None)).rowcount
        if moved != 1:
            raise NotFoundError(msg("no job %(job_id)s", job_id=job_id))


@handler(JobKind.REMINDER)
def _run_reminder(rt: Runtime, job: TakenJob, now: datetime) -> None:
    with step_transaction():
        if job.ticket_id is not None:
            run_deadline_job(job.key, job.ticket_id, now=now)
        finish(job)


@handler(JobKind.ESCALATE)
def _run_escalation(rt: Runtime, job: TakenJob, now: datetime) -> None:
    with step_transaction():
        if job.ticket_id is not None:
            run_deadline_job(job.key, job.ticket_id, now=now)
        finish(job)


# --- recurring jobs ----------------------------------------------------------------------------------

WEEKLY_REPORT_KEY = "weekly-report"


def next_weekly_report_at(now: datetime, timezone: str) -> datetime:
    """The next Monday 08:00 in the business time zone, strictly after ``now``."""
    local = now.astimezone(ZoneInfo(timezone))
    monday = (local - timedelta(days=local.weekday())).replace(hour=8, minute=0, second=0, microsecond=0)
    if monday <= local:
        monday += timedelta(days=7)
    return monday.astimezone(UTC)


def ensure_recurring_jobs(*, now: datetime, timezone: str) -> None:
    """Create the recurring jobs that are missing (run by every worker at start; idempotent)."""
    exists = db.session.scalar(select(JOBS.c.id).where(JOBS.c.key == WEEKLY_REPORT_KEY))
    if exists is None:
        with step_transaction():
            upsert_job(db.session.connection(), key=WEEKLY_REPORT_KEY, kind=JobKind.WEEKLY_REPORT,
                       due_at=next_weekly_report_at(now, timezone), now=now)
    else:
        db.session.commit()


@handler(JobKind.WEEKLY_REPORT)
def _run_weekly_report(rt: Runtime, job: TakenJob, now: datetime) -> None:
    with step_transaction():
        generate_weekly_report(now, timezone=rt.timezone)
        upsert_job(db.session.connection(), key=WEEKLY_REPORT_KEY, kind=JobKind.WEEKLY_REPORT,
                   due_at=next_weekly_report_at(now, rt.timezone), now=now)


# --- when the worker should look again -------------------------------------------------------------------------

def next_wake_at() -> datetime | None:
    """When the earliest job that could be taken (a locked one from its lock expiry) or pending message falls due:
    one statement for both tables."""
    job, message = db.session.execute(NEXT_WAKE).one()
    db.session.commit()
    return earliest(job, message)


def earliest(*values: datetime | str | None) -> datetime | None:
    moments = [_aware(value) for value in values if value is not None]
    return min(moments) if moments else None


NEXT_WAKE = select(
    select(func.min(func.coalesce(JOBS.c.lock_expires_at, JOBS.c.due_at))).where(JOBS.c.retries_left > 0)
    .scalar_subquery(),
    select(func.min(OUTBOX.c.next_attempt_at)).where(OUTBOX.c.status == "pending").scalar_subquery())


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite returns min() of a text column untyped
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
