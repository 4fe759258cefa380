"""``flask worker`` processes in ``kefu_processes{kind="worker"}`` (multiprocess mode): counted while they run, gone
when they stop, and gone too when killed with SIGKILL (no parent sees a worker die: the scrape forgets it).

Real worker processes on the test database, sharing the metrics directory with the app that answers /metrics.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.paths import ROOT

WORKER = ("kefu_processes", (("kind", "worker"),))


@pytest.fixture
def metrics_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))  # this process scrapes the directory
    monkeypatch.delenv("METRICS_TOKEN", raising=False)  # the test client scrapes from a loopback address
    return directory


@pytest.fixture
def spawn_worker(database_url: str, metrics_directory: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "app:create_app", "KEFU_ENV": "testing",
               "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory)}
        process = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def _workers_counted(client: FlaskClient) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200
    figures = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in text_string_to_metric_families(response.get_data(as_text=True))
               for sample in family.samples}
    return figures.get(WORKER, 0.0)


def _eventually(check: Callable[[], bool], attempts: int = 600) -> None:
    for _ in range(attempts):
        if check():
            return
        time.sleep(0.1)  # waiting for the processes, not for a deadline
    raise AssertionError("the worker never reached the expected state")


def _counting(directory: Path, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, "the worker ended"
    return (directory / f"gauge_livesum_{process.pid}.db").exists()


def test_a_worker_counts_while_it_runs_and_leaves_when_stopped_or_killed(client, metrics_directory, spawn_worker):
    first = spawn_worker()
    _eventually(lambda: _counting(metrics_directory, first))
    assert _workers_counted(client) == 1

    first.send_signal(signal.SIGTERM)  # a worker stopped as systemd or compose stops it
    assert first.wait(timeout=60) == 0
    assert not (metrics_directory / f"gauge_livesum_{first.pid}.db").exists()
    assert _workers_counted(client) == 0

    second, third = spawn_worker(), spawn_worker()
    _eventually(lambda: _counting(metrics_directory, second) and _counting(metrics_directory, third))
    assert _workers_counted(client) == 2

    second.kill()  # SIGKILL: nothing runs in the worker, and it has no parent that marks it dead
    second.wait()
    assert _workers_counted(client) == 1  # the scrape forgot the killed worker's live gauge
