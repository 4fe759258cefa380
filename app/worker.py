"""The worker process (``flask worker``): runs due jobs, delivers the outbox, sleeps until the next job.

It sleeps until the earliest job (or outgoing message) falls due instead of polling on a long
fixed interval. On PostgreSQL it LISTENs on ``kefu_jobs`` (triggers on the job table and the
outbox NOTIFY at commit), so a job or a text created sooner than the planned wake-up wakes it
at once; on SQLite, where there is one process and no NOTIFY, it looks again at least every
``POLL_SECONDS``. Several workers, on several
machines, may run against one PostgreSQL: jobs are taken with SKIP LOCKED (app.services.jobs.queue).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from uuid import uuid4

import psycopg
from flask import Flask
from sqlalchemy.engine import Engine

from app.extensions import db
from app.services.jobs.notifications import deliver_outbox, next_outbox_attempt_at
from app.services.jobs.queue import ensure_recurring_jobs, next_due_at, run_job, take_due_jobs, unlock
from app.services.jobs.sms_senders import sender_from_config
from app.services.ops.metrics import mark_process_dead, mark_process_serving, observe_timer_lag
from app.services.outreach.planned_callbacks import ensure_planned_callbacks_job  # also registers its job
from app.services.runtime import Runtime

log = logging.getLogger("kefu.worker")

IDLE_SECONDS = 60.0  # longest sleep with nothing due (PostgreSQL: a NOTIFY wakes it earlier)
POLL_SECONDS = 1.0  # longest sleep on a database without NOTIFY
WAKE_SLACK = 0.005  # timers fire strictly after their due time: wake just past it
OUTBOX_BATCH = 100
CONFLICT_PAUSE = 0.05  # after a pass that only lost races, before trying those jobs again


class Waiter(Protocol):
    def wait(self, seconds: float, stopping: Callable[[], bool]) -> None: ...
    def close(self) -> None: ...


class Worker:
    def __init__(self, app: Flask, *, owner: str | None = None) -> None:
        self.app = app
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:6]}"
        self.lock_seconds = int(app.config["WORKER_LOCK_SECONDS"])
        self.retries = int(app.config["WORKER_RETRIES"])
        self.batch = int(app.config["WORKER_BATCH"])
        self.sender = sender_from_config(app.config)
        self.stopping = False

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.app.extensions["kefu"]
        return rt

    def run_pending(self) -> dict[str, int]:
        """Run every job due now, batch after batch, then deliver the outbox. Needs an app context."""
        counts: dict[str, int] = {}
        requeued: set[int] = set()
        rt = self.runtime
        while not self.stopping:
            jobs = take_due_jobs(self.owner, now=rt.clock.now(), lock_seconds=self.lock_seconds, limit=self.batch)
            if not jobs:
                break
            if {job.id for job in jobs} <= requeued:  # only races lost in this pass: let the winners finish first
                for job in jobs:
                    unlock(job, self.owner)
                break
            for index, job in enumerate(jobs):
                if self.stopping:  # hand the rest back now rather than after the lock expires
                    for left in jobs[index:]:
                        unlock(left, self.owner)
                    break
                observe_timer_lag(job.kind, job.due_at, rt.clock.now())  # due vs fired, by job kind
                outcome = run_job(rt, job, owner=self.owner, retries=self.retries)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == "requeued":
                    requeued.add(job.id)
        while not self.stopping:  # the outbox, in batches, until nothing is due
            sent, failed = deliver_outbox(self.sender, now=rt.clock.now(), limit=OUTBOX_BATCH)
            counts["sent"] = counts.get("sent", 0) + sent
            counts["send_failed"] = counts.get("send_failed", 0) + failed
            if sent + failed < OUTBOX_BATCH:
                break
        return {name: count for name, count in counts.items() if count}

    def seconds_to_next_job(self) -> float:
        """Until the earliest job or pending message (SQL ``<`` on the job's due time: wake just past it)."""
        moments = [moment for moment in (next_due_at(), next_outbox_attempt_at()) if moment is not None]
        if not moments:
            return IDLE_SECONDS
        return max(0.0, (min(moments) - self.runtime.clock.now()).total_seconds() + WAKE_SLACK)

    def run_forever(self) -> None:
        with self.app.app_context():
            self._stop_on_signals()
            rt = self.runtime
            ensure_recurring_jobs(now=rt.clock.now(), timezone=rt.timezone)
            ensure_planned_callbacks_job(now=rt.clock.now(), timezone=rt.timezone)
            log.info("worker %s started (lock %ss, %s tries)", self.owner, self.lock_seconds, self.retries)
            # Counted in kefu_processes{kind="worker"} while it runs; its live gauge leaves when it stops (a worker
            # killed outright is forgotten by the next scrape: metrics.scrape drops the gauges of dead processes).
            mark_process_serving("worker")
            try:
                with waiter_for(db.engine) as waiter:
                    while not self.stopping:
                        self._run_and_wait(waiter)
            finally:
                mark_process_dead(os.getpid())
            log.info("worker %s stopped", self.owner)

    def _run_and_wait(self, waiter: Waiter) -> None:
        try:
            counts = self.run_pending()
        except Exception:  # a lost database connection must not end the worker
            log.exception("worker loop failed; trying again shortly")
            db.session.rollback()
            counts = {}
            time.sleep(1.0)
        if counts:
            log.info("ran %s", counts)
        pause = CONFLICT_PAUSE if set(counts) == {"requeued"} else 0.0
        waiter.wait(max(pause, min(self.seconds_to_next_job(), IDLE_SECONDS)), lambda: self.stopping)
        db.session.remove()

    def _stop_on_signals(self) -> None:
        def stop(_signum: int, _frame: Any) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


class SleepWaiter:
    """No NOTIFY (SQLite): sleep, but look again at least every POLL_SECONDS."""

    def wait(self, seconds: float, stopping: Callable[[], bool]) -> None:
        time.sleep(min(seconds, POLL_SECONDS))

    def close(self) -> None:
        return None


class NotifyWaiter:
    """PostgreSQL: LISTEN kefu_jobs on a connection of its own; a NOTIFY ends the wait early."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection = psycopg.connect(url, autocommit=True)
        self.connection.execute("LISTEN kefu_jobs")

    def wait(self, seconds: float, stopping: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not stopping():
            # In slices, so a stop signal is seen within a second.
            if any(True for _ in self.connection.notifies(timeout=min(left, 1.0), stop_after=1)):
                self._drain()
                return

    def _drain(self) -> None:
        for _ in self.connection.notifies(timeout=0.0):
            pass

    def close(self) -> None:
        self.connection.close()


@contextmanager
def waiter_for(engine: Engine) -> Iterator[Waiter]:
    waiter: Waiter = NotifyWaiter(engine) if engine.dialect.name == "postgresql" else SleepWaiter()
    try:
        yield waiter
    finally:
        waiter.close()
