"""Gunicorn settings, read from the environment.

WEB_CONCURRENCY           worker processes (default 2: this app's machines have 2 cores)
PORT                      port to listen on (default 5000)
PROMETHEUS_MULTIPROC_DIR  where the workers write their metrics (optional; see app/services/ops/metrics.py)
GUNICORN_THREADS          threads per worker (default 4; the worker class is gthread, see below)

The address defaults to 127.0.0.1: a server reachable from other hosts is asked for on the
command line (the Dockerfile passes --bind 0.0.0.0:$PORT). Gunicorn's own default would be
0.0.0.0 whenever PORT is set, so the bind is spelled out here.
"""

import os

bind = [f"127.0.0.1:{int(os.environ.get('PORT', '5000'))}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, not sync workers: a sync worker serves one connection at a time and closes it after each
# answer (no keep-alive), so a phone on a slow network, or a proxy that does not buffer whole requests
# (HAProxy in deploy/), holds a whole worker while it trickles bytes; a gthread worker keeps idle
# keep-alive connections in its poller and serves the others from its threads. The app is thread-safe
# (per-thread sessions; its caches hold locks). 4 threads per worker on 2 cores: a request waits on the
# database (round trips, fsync) for part of its time, and more threads only queue on the GIL. Measured
# against sync with bench/http_load.py: README "Over real HTTP".
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 5  # seconds an idle keep-alive connection stays open (gunicorn's default 2 is short for phones)
# The workers' heartbeat files in memory: on a busy disk, touching a file under /tmp could stall a worker
# long enough for the master to think it hung.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn makes its files there with mkstemp (private, unpredictable names)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
timeout = 30
# No gunicorn access log: the app writes one JSON line per request (app/web/observability.py: request id, route
# name, status, duration). Gunicorn's line would be a second one per request, and it holds the raw request line:
# a ticket search's phone digits, an owner's sign-in link or survey token.
accesslog = None
errorlog = "-"  # stderr


# The metrics' multiprocess directory (the hooks import the app's module only when they run).
def on_starting(server):
    """The master, before the first worker: a fresh directory (a previous run's samples would add up)."""
    from app.services.ops.metrics import prepare_multiprocess_directory

    prepare_multiprocess_directory()


def post_worker_init(worker):
    """A worker loads the processes and pages before its first request (app.settle_process: also why a full
    garbage collection would stall its threads), and counts in kefu_processes{kind="web"} while it lives."""
    from flask import Flask

    from app import settle_process
    from app.services.ops.metrics import mark_process_serving

    if isinstance(worker.wsgi, Flask):
        settle_process(worker.wsgi)
    mark_process_serving("web")


def child_exit(server, worker):
    """A worker ended (or was killed): its live gauges go with it."""
    from app.services.ops.metrics import mark_process_dead

    mark_process_dead(worker.pid)
