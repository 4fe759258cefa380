"""`flask worker` processes against one database: every timer fires exactly once, even after kill -9.

Real processes on the system clock; the instances were started on the test's (earlier) manual
clock, so every timer is already due when the workers start. On PostgreSQL three workers share
the jobs (SKIP LOCKED); SQLite runs one worker process by design (one writer), so there the same
tests run one worker at a time.
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
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from app import create_app
from app.clock import ManualClock
from app.extensions import db
from app.services.definitions.deploy import deploy_files
from app.services.people.auth import issue_token, user_for_token
from app.services.people.users import create_user
from app.services.work.instances import start_instance
from tests.conftest import app_config
from tests.support.fixtures import START

pytestmark = pytest.mark.concurrency
TIMER_FLOW = Path(__file__).with_name("timer_at.bpmn")
ROOT = Path(__file__).resolve().parents[2]
TIMERS = 2000
WAIT_LIMIT_SECONDS = 300  # a hang guard for a condition wait, not a speed limit


@pytest.fixture(scope="module")
def due_timers_template(databases) -> Iterator[str]:
    """A database with TIMERS instances each waiting on a timer that is due (on the test clock, long ago for real).

    Made once for the module and copied for each test: starting two thousand instances was most of a test's set-up.
    """
    url = databases.clone()
    clock = ManualClock(START)
    app = create_app(app_config(url), clock=clock)
    with app.app_context():
        rt = app.extensions["kefu"]
        deploy_files(rt, {"timer_at.bpmn": TIMER_FLOW.read_bytes()}, user=None)
        admin = user_for_token(issue_token(create_user("root", password="secret-pw-1", roles=("admin",), clock=clock),
                                           clock))
        for _ in range(TIMERS):
            start_instance(rt, "timer_at", {}, user=admin)
        db.session.remove()
        db.engine.dispose()  # nothing may hold the template open while it is copied
    yield url
    databases.drop(url)


@pytest.fixture
def database_url(databases, due_timers_template) -> Iterator[str]:
    url = databases.clone(due_timers_template)
    yield url
    databases.drop(url)


@pytest.fixture
def due_timers(database_url) -> int:
    return TIMERS


@pytest.fixture
def spawn_worker(database_url) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "app:create_app", "KEFU_ENV": "testing",
               "WORKER_LOCK_SECONDS": "5", "WORKER_BATCH": "25"}
        process = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the workers stopped making progress"
        time.sleep(0.2)


def frozen_holding_jobs(worker: subprocess.Popen[bytes], engine: Engine) -> bool:
    """Stop ``worker`` (SIGSTOP) and tell whether it holds locked jobs; if not, let it go on. A worker holds none
    for the moment between finishing a batch and taking the next: killed there, it would leave nothing to take over."""
    os.kill(worker.pid, signal.SIGSTOP)
    if scalar(engine, "SELECT count(*) FROM jobs WHERE lock_owner LIKE :owner", owner=f"%:{worker.pid}:%") > 0:
        return True
    os.kill(worker.pid, signal.SIGCONT)
    return False


def assert_each_timer_fired_once(engine: Engine) -> None:
    assert scalar(engine, "SELECT count(*) FROM audit_events WHERE action = 'timer'") == TIMERS
    assert scalar(engine, """SELECT count(*) FROM (SELECT instance_id FROM audit_events WHERE action = 'timer'
                             GROUP BY instance_id HAVING count(*) > 1) doubled""") == 0
    assert scalar(engine, "SELECT count(*) FROM process_instances WHERE status = 'completed'") == TIMERS
    assert scalar(engine, "SELECT count(*) FROM jobs WHERE kind = 'timer'") == 0


def side_by_side(database_url: str, on_postgres: int) -> int:
    """How many workers run at once: several on PostgreSQL, one on SQLite."""
    return on_postgres if database_url.startswith("postgresql") else 1


def test_three_workers_fire_two_thousand_due_timers_exactly_once(due_timers, database_url, spawn_worker):
    engine = create_engine(database_url)
    try:
        workers = [spawn_worker() for _ in range(side_by_side(database_url, 3))]
        wait_until(lambda: scalar(engine, "SELECT count(*) FROM jobs WHERE kind = 'timer'") == 0)
        assert_each_timer_fired_once(engine)
        assert all(worker.poll() is None for worker in workers)  # still running, waiting for more
    finally:
        engine.dispose()


def test_jobs_of_a_worker_killed_mid_run_are_taken_by_the_others_after_the_lock_expires(
        due_timers, database_url, spawn_worker):
    engine = create_engine(database_url)
    try:
        victim = spawn_worker()
        wait_until(lambda: scalar(engine, "SELECT count(*) FROM audit_events WHERE action = 'timer'") >= 100)
        wait_until(lambda: frozen_holding_jobs(victim, engine))  # not between two batches, when it holds none
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        held = scalar(engine, "SELECT count(*) FROM jobs WHERE lock_owner LIKE :owner", owner=f"%:{victim.pid}:%")
        fired_before = scalar(engine, "SELECT count(*) FROM audit_events WHERE action = 'timer'")
        assert held > 0 and fired_before < TIMERS  # it died holding locked jobs, with work left

        [spawn_worker() for _ in range(side_by_side(database_url, 2))]
        wait_until(lambda: scalar(engine, "SELECT count(*) FROM jobs WHERE kind = 'timer'") == 0)
        assert_each_timer_fired_once(engine)
    finally:
        engine.dispose()
