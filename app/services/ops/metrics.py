"""The Prometheus metrics: what the processes observe as they run, and the figures read at scrape time.

Observed in process (cheap: one histogram observe, no SQL): request latency by endpoint, step
duration by process and element, timer lag (due time to firing). Read at scrape time with a few
bounded aggregate queries: the outbox backlog, incidents, instances in error, open tasks by stage.

Several processes (gunicorn workers, the worker): set ``PROMETHEUS_MULTIPROC_DIR`` to a writable
directory for every process before they start; each process then writes its samples there and a
scrape of any one of them adds all of them up. gunicorn.conf.py keeps it clean: at start the master
creates it and removes what processes no longer running left there (``prepare_multiprocess_directory``:
a previous run's samples would otherwise be added to this run's, and a new process given an old pid
would go on from the old counts), and when a worker dies its live gauges leave with it
(``mark_process_dead``), so ``kefu_processes`` counts the processes running now. ``flask worker`` counts
itself (``kind="worker"``) and takes its live gauge away when it stops; one killed outright (no parent sees it
die) is forgotten at the next scrape, which drops the live gauges of processes no longer running.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, InstanceStatus, OutboxStatus, ProcessInstance, Ticket
from app.models.jobs import Job, OutboxMessage
from app.services.steps.write import TASK_IS_OPEN

__all__ = ["CONTENT_TYPE_LATEST", "mark_process_dead", "mark_process_serving", "observe_request", "observe_step",
           "observe_timer_lag", "prepare_multiprocess_directory", "scrape"]

# This module's own registry, not prometheus_client's global one: importing the module again (tests do) makes
# new metrics instead of clashing with the old ones. It also carries the process, platform and GC figures.
PROCESS_REGISTRY = CollectorRegistry()
for _default in (ProcessCollector, PlatformCollector, GCCollector):
    _default(registry=PROCESS_REGISTRY)

REQUEST_SECONDS = Histogram("kefu_http_request_duration_seconds", "Time to answer a request, by endpoint",
                            ["endpoint", "method", "status"], registry=PROCESS_REGISTRY,
                            buckets=(.0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
STEP_SECONDS = Histogram("kefu_step_duration_seconds", "Time of a task completion (engine run and its write)",
                         ["process", "element"], registry=PROCESS_REGISTRY,
                         buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
TIMER_LAG_SECONDS = Histogram("kefu_timer_lag_seconds", "From a job's due time to the worker running it",
                              ["kind"], registry=PROCESS_REGISTRY,
                              buckets=(.01, .05, .1, .5, 1, 2.5, 5, 10, 30, 60, 300, 900))

# One per running process of a kind (``web``: a gunicorn worker, ``worker``: a ``flask worker``); in multiprocess
# mode the live processes' sum.
PROCESSES = Gauge("kefu_processes", "Processes running, by kind", ["kind"], registry=PROCESS_REGISTRY,
                  multiprocess_mode="livesum")


def mark_process_serving(kind: str) -> None:
    """This process counts in ``kefu_processes{kind}`` while it lives (gunicorn's post_worker_init hook, the
    worker's start)."""
    PROCESSES.labels(kind).set(1)


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    key = (endpoint, method, status)
    histogram = _REQUEST_HISTOGRAMS.get(key)
    if histogram is None:  # labels() validates and takes a lock: once per label set, not once per request
        histogram = _REQUEST_HISTOGRAMS[key] = REQUEST_SECONDS.labels(endpoint, method, str(status))
    histogram.observe(seconds)


_REQUEST_HISTOGRAMS: dict[tuple[str, str, int], Histogram] = {}  # endpoints x methods x statuses: bounded


def observe_step(process_id: str, element_id: str, seconds: float) -> None:
    STEP_SECONDS.labels(process_id, element_id).observe(seconds)


def observe_timer_lag(kind: str, due_at: datetime, fired_at: datetime) -> None:
    TIMER_LAG_SECONDS.labels(kind).observe(max(0.0, (fired_at - due_at).total_seconds()))


class DatabaseFigures(Collector):
    """Gauges read from the database when Prometheus scrapes (never stored in a process)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._figures()
        finally:
            db.session.rollback()

    def _figures(self) -> Iterator[GaugeMetricFamily]:
        outbox = GaugeMetricFamily("kefu_outbox_backlog", "Messages waiting to be sent")
        outbox.add_metric([], _count(OutboxMessage.status == OutboxStatus.PENDING))
        yield outbox
        incidents = GaugeMetricFamily("kefu_incidents", "Jobs whose retries are spent (incidents)")
        incidents.add_metric([], _count(Job.retries_left <= 0))
        yield incidents
        errors = GaugeMetricFamily("kefu_instances_in_error", "Process instances in error")
        errors.add_metric([], _count(ProcessInstance.status == InstanceStatus.ERROR))
        yield errors
        tasks = GaugeMetricFamily("kefu_open_tasks", "Open tasks by their ticket's stage", labels=["stage"])
        for stage, count in db.session.execute(
                select(Ticket.stage, func.count()).select_from(HumanTask)
                .outerjoin(Ticket, Ticket.instance_id == HumanTask.instance_id)
                .where(TASK_IS_OPEN).group_by(Ticket.stage)):
            tasks.add_metric([stage or "none"], count)  # "none": a task of a flow without a ticket
        yield tasks


def _count(condition: object) -> int:
    return int(db.session.scalar(select(func.count()).where(condition)) or 0)  # type: ignore[arg-type]


def scrape() -> bytes:
    """The text exposition of every metric: this process's (or every process's, in multiprocess mode) and
    the database's figures."""
    figures = CollectorRegistry(auto_describe=False)
    figures.register(DatabaseFigures())
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        _forget_dead_processes(directory)
        processes = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
        return generate_latest(processes) + generate_latest(figures)
    return generate_latest(PROCESS_REGISTRY) + generate_latest(figures)


def mark_process_dead(pid: int) -> None:
    """gunicorn's child_exit hook, a stopping ``flask worker``: a dead process's live gauges leave the multiprocess
    directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


_SAMPLES_FILE = re.compile(r"^[a-z_]+_(\d+)\.db$")  # histogram_123.db, gauge_livesum_123.db, ...
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")  # what mark_process_dead removes


def _forget_dead_processes(directory: str) -> None:
    """The live gauges of processes no longer running leave (a ``flask worker`` killed with SIGKILL has no parent
    to call mark_process_dead; a process of another machine never shares this directory)."""
    for name in os.listdir(directory):
        found = _LIVE_GAUGE_FILE.match(name)
        if found and not _is_running(int(found.group(1))):
            with contextlib.suppress(FileNotFoundError):  # another scrape removed it first
                os.remove(os.path.join(directory, name))


def prepare_multiprocess_directory() -> None:
    """gunicorn's on_starting hook (the master, before any worker): the multiprocess directory exists and holds
    only the samples of processes running now (a ``flask worker`` started before this server keeps its own)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        found = _SAMPLES_FILE.match(name)
        if found and not _is_running(int(found.group(1))):
            os.remove(os.path.join(directory, name))


def _is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: running
    return True
