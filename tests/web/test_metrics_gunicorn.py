"""/metrics under gunicorn with two workers in multiprocess mode: a worker killed, and a previous run's files.

The server is started as in production (the project's gunicorn.conf.py, PROMETHEUS_MULTIPROC_DIR set), on a
migrated copy of the test database. Its hooks keep the directory honest: at start the samples of processes no
longer running are removed, and a dead worker's live gauges leave with it, so ``kefu_processes{kind="web"}``
counts the workers running now while the request counters never go backwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.network import free_port
from tests.support.paths import ROOT

HEALTH = (("endpoint", "api.health"), ("method", "GET"), ("status", "200"))


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return bytes(response.read())


def _figures(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = _get(port, "/metrics").decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _web_processes(figures: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return figures.get(("kefu_processes", (("kind", "web"),)), 0.0)


def _health_requests(figures: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return figures.get(("kefu_http_request_duration_seconds_count", HEALTH), 0.0)


def _workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def _serving(master: int, directory: Path) -> set[int]:
    """The two workers, once both have started serving (each has counted itself in its samples file), else none."""
    workers = _workers(master)
    ready = len(workers) == 2 and all((directory / f"gauge_livesum_{pid}.db").exists() for pid in workers)
    return workers if ready else set()


def _eventually(check: Callable[[], bool], attempts: int = 300) -> None:
    for _ in range(attempts):
        try:
            if check():
                return
        except OSError:
            pass  # not listening yet, or the killed worker's connection
        time.sleep(0.1)  # waiting for the processes, not for a deadline
    raise AssertionError("the server never reached the expected state")


@pytest.fixture
def metrics_directory(tmp_path: Path) -> Path:
    """The directory as a previous run left it: a worker that served a request and counted itself, now gone."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    previous = ("from app.services.ops.metrics import mark_process_serving, observe_request; "
                "mark_process_serving('web'); observe_request('api.health', 'GET', 200, 0.01)")
    subprocess.run([sys.executable, "-c", previous], check=True, cwd=ROOT,
                   env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)})
    assert len(list(directory.glob("*.db"))) == 2  # its histogram and its live gauge
    return directory


@pytest.fixture
def server(database_url: str, metrics_directory: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "KEFU_ENV": "production", "PORT": str(port),
           "SECRET_KEY": "a-test-secret-that-is-long-enough", "WEB_CONCURRENCY": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory)}
    env.pop("METRICS_TOKEN", None)  # loopback scrapes are allowed without one
    with subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as master:
        try:
            yield master, port, metrics_directory
        finally:
            master.terminate()
            master.wait(timeout=30)


def test_a_killed_worker_leaves_the_metrics_consistent_and_a_previous_run_is_forgotten(server):
    master, port, directory = server
    _eventually(lambda: bool(_serving(master.pid, directory)))
    for _ in range(6):
        _get(port, "/api/v1/health")
    before = _figures(port)
    assert _web_processes(before) == 2  # not 3: the previous run's worker is gone
    assert _health_requests(before) == 6  # and its request is not added to this run's

    killed = min(_serving(master.pid, directory))
    os.kill(killed, signal.SIGKILL)

    _eventually(lambda: bool(_serving(master.pid, directory)) and killed not in _workers(master.pid))
    _get(port, "/api/v1/health")
    after = _figures(port)
    assert _web_processes(after) == 2  # two workers run, two are counted: the killed one's live gauge left with it
    assert _health_requests(after) == 7  # the killed worker's requests still count: a counter never goes back
