"""The worker process (``flask worker``): runs due jobs, delivers the outbox, sleeps until the next job.

It sleeps until the earliest job (or outgoing message) falls due instead of polling on a long
fixed interval. On PostgreSQL it LISTENs on ``kefu_jobs`` (triggers on the job table and the
outbox NOTIFY the due time at commit): a job or a text due now wakes it at once, one due sooner
than the planned wake-up brings the wake-up forward, and the many due later (every ticket step
schedules a reminder and an escalation) change nothing, so steps cost the worker no query. On
SQLite, where there is one process and no NOTIFY, it looks again at least every
``POLL_SECONDS``. Several workers, on several
machines, may run against one PostgreSQL: jobs are taken with SKIP LOCKED (app.services.jobs.queue).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol
from uuid import uuid4

import psycopg
from flask import Flask
from sqlalchemy.engine import Engine

from app.extensions import db
from app.services.jobs.notifications import deliver_outbox
from app.services.jobs.queue import (
    NEXT_WAKE,
    earliest,
    ensure_recurring_jobs,
    next_wake_at,
    run_job,
    take_due_jobs,
    unlock,
)
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
    def next_wake_at(self) -> datetime | None: ...
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

    def seconds_until(self, moment: datetime | None) -> float:
        """Until ``moment``, the earliest job or pending message (``next_wake_at``), past which the worker wakes
        (SQL ``<`` on a job's due time: wake just past it)."""
        if moment is None:
            return IDLE_SECONDS
        return max(0.0, (moment - self.runtime.clock.now()).total_seconds() + WAKE_SLACK)

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
        waiter.wait(max(pause, min(self.seconds_until(waiter.next_wake_at()), IDLE_SECONDS)),
                    lambda: self.stopping)
        db.session.remove()

    def _stop_on_signals(self) -> None:
        def stop(_signum: int, _frame: Any) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


class SleepWaiter:
    """No NOTIFY (SQLite): sleep, but look again at least every POLL_SECONDS."""

    def next_wake_at(self) -> datetime | None:
        return next_wake_at()

    def wait(self, seconds: float, stopping: Callable[[], bool]) -> None:
        time.sleep(min(seconds, POLL_SECONDS))

    def close(self) -> None:
        return None


class NotifyWaiter:
    """PostgreSQL: LISTEN kefu_jobs on a connection of its own; a NOTIFY of something due sooner ends the wait early.

    Every NOTIFY carries the due time of the job or message written (epoch seconds, by the triggers on ``jobs``
    and ``outbox``). Most are for later than the planned wake-up (a ticket's reminder at 80 % of its limit, its
    escalation, a task's rungs, a timer an hour ahead): those change nothing. One due before the planned
    wake-up brings the wake-up forward to it, without a look at the tables now; one already due ends the wait.
    """

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection = psycopg.connect(url, autocommit=True)
        self.connection.execute("LISTEN kefu_jobs")
        self._next_wake = str(NEXT_WAKE.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))

    def next_wake_at(self) -> datetime | None:
        """``next_wake_at()`` on this connection: one round trip, outside any transaction (a NOTIFY that comes
        meanwhile waits in the connection's backlog for ``wait``)."""
        row = self.connection.execute(self._next_wake).fetchone()
        return earliest(*row) if row is not None else None

    def wait(self, seconds: float, stopping: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not stopping():
            # In slices, so a stop signal is seen within a second.
            for notice in self.connection.notifies(timeout=min(left, 1.0), stop_after=1):
                deadline = min(deadline, time.monotonic() + seconds_until_due(notice.payload))
        # What was notified until now committed before the pass that follows, which sees it.
        self._drain()

    def _drain(self) -> None:
        for _ in self.connection.notifies(timeout=0.0):
            pass

    def close(self) -> None:
        self.connection.close()


def seconds_until_due(payload: str) -> float:
    """Seconds from now until a worker should wake for the job or message of a NOTIFY: its due time (epoch seconds)
    plus WAKE_SLACK; 0 (at once: never miss work) for a payload that is not a time."""
    try:
        due = float(payload)
    except ValueError:
        return 0.0
    return due - time.time() + WAKE_SLACK if math.isfinite(due) else 0.0



@contextmanager
def waiter_for(engine: Engine) -> Iterator[Waiter]:
    waiter: Waiter = NotifyWaiter(engine) if engine.dialect.name == "postgresql" else SleepWaiter()
    try:
        yield waiter
    finally:
        waiter.close()
