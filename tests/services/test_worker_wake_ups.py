"""When a real `flask worker` on PostgreSQL looks at its tables: when something falls due, not at every step.

Every step that writes a job or a text NOTIFYs the sleeping workers with its due time. Most jobs are for later
(a ticket's reminder and escalation, a timer half an hour ahead): a worker sleeping until an earlier moment
must not run a pass for them. A job due before its planned wake-up brings the wake-up forward; one due now
(a text to send) wakes it at once.

Whether the worker ran a pass is read from a *tripwire*: a text made due without a NOTIFY (the outbox's trigger
fires on insert only, and the test moves it afterwards), which any pass sends and stamps with the pass's time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select, update

from app import create_app
from app.clock import ManualClock
from app.extensions import db
from app.models import AuditEvent, ProcessInstance
from app.models.jobs import Job, OutboxMessage
from app.services.definitions.deploy import deploy_files
from app.services.people.auth import issue_token, user_for_token
from app.services.people.users import create_user
from app.services.steps.plan import step_transaction
from app.services.work.instances import start_instance
from app.worker import IDLE_SECONDS
from tests.conftest import app_config
from tests.support.passes import postgresql_pass

pytestmark = [pytest.mark.concurrency,
              postgresql_pass("NOTIFY wakes workers on PostgreSQL; on SQLite the one worker polls")]
TIMER_FLOW = Path(__file__).with_name("timer_at.bpmn")  # its timer fires half an hour after the start
TIMER_DELAY = timedelta(minutes=30)
ROOT = Path(__file__).resolve().parents[2]
WAIT_LIMIT_SECONDS = 300  # a hang guard for a condition wait, not a speed limit
LATER_STEPS = 20
PHONE = "13812345678"


@pytest.fixture
def database_url(databases) -> Iterator[str]:
    url = databases.clone()
    yield url
    databases.drop(url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def app(database_url, clock) -> Iterator[Flask]:
    app = create_app(app_config(database_url), clock=clock)
    with app.app_context():
        deploy_files(app.extensions["kefu"], {"timer_at.bpmn": TIMER_FLOW.read_bytes()}, user=None)
        yield app
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def worker(app, database_url) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "app:create_app", "KEFU_ENV": "testing"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the worker never did it"
        time.sleep(0.1)


def read(statement: Any) -> Any:
    value = db.session.execute(statement).scalar_one_or_none()
    db.session.commit()
    return value


def queue_text_now(body: str) -> int:
    """A text due now, queued as a step queues one (its insert NOTIFYs the workers)."""
    with step_transaction():
        message_id: int = db.session.execute(insert(OutboxMessage.__table__).values(
            channel="sms", recipient=PHONE, body=body, status="pending", attempts=0,
            next_attempt_at=datetime.now(UTC), created_at=datetime.now(UTC)).returning(OutboxMessage.id)).scalar_one()
    return message_id


def tripwire() -> int:
    """A text due now that no NOTIFY announced: only a pass that looks at the outbox finds it."""
    later = datetime.now(UTC) + timedelta(hours=1)
    with step_transaction():
        message_id: int = db.session.execute(insert(OutboxMessage.__table__).values(
            channel="sms", recipient=PHONE, body="tripwire", status="pending", attempts=0, next_attempt_at=later,
            created_at=datetime.now(UTC)).returning(OutboxMessage.id)).scalar_one()
    with step_transaction():
        db.session.execute(update(OutboxMessage.__table__).where(OutboxMessage.id == message_id)
                           .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    return message_id


def sent_at(message_id: int) -> datetime | None:
    moment: datetime | None = read(select(OutboxMessage.sent_at).where(OutboxMessage.id == message_id))
    return moment


def start_timer(app: Flask, clock: ManualClock, *, fires_at: datetime, user: Any) -> int:
    """A step that writes a timer job due at ``fires_at`` (the flow's timer is half an hour after its start)."""
    clock.set(fires_at - TIMER_DELAY)
    instance_id: int = start_instance(app.extensions["kefu"], "timer_at", {}, user=user).instance_id
    return instance_id


def test_a_sleeping_worker_runs_no_pass_for_jobs_due_later_and_wakes_when_the_soonest_falls_due(
        app, clock, worker):
    user = user_for_token(issue_token(create_user("root", password="secret-pw-1", roles=("admin",), clock=clock),
                                      clock))
    # A text due now wakes the worker at once; once it is sent, that pass is over (the outbox comes last).
    first = queue_text_now("due now")
    wait_until(lambda: sent_at(first) is not None)
    planned_wake_up = (sent_at(first) or datetime.now(UTC)) + timedelta(seconds=IDLE_SECONDS)  # at the latest
    wire = tripwire()

    # Steps whose jobs are all for later: each NOTIFYs, none may make the worker look at its tables.
    later = [start_timer(app, clock, fires_at=datetime.now(UTC) + TIMER_DELAY, user=user)
             for _ in range(LATER_STEPS)]
    time.sleep(1.0)  # the time a worker woken by them would take to run its pass (and trip the wire)
    # A job due before the planned wake-up: the worker wakes when it falls due, not now, and runs it.
    soon = start_timer(app, clock, fires_at=datetime.now(UTC) + timedelta(seconds=2), user=user)
    soon_due: datetime = read(select(Job.due_at).where(Job.instance_id == soon))

    wait_until(lambda: read(select(ProcessInstance.status).where(ProcessInstance.id == soon)) == "completed")
    fired: datetime = read(select(AuditEvent.at).where(AuditEvent.instance_id == soon, AuditEvent.action == "timer"))
    tripped = sent_at(wire)
    assert tripped is not None and tripped >= soon_due  # no pass between the first text and the soon job's time
    assert soon_due < fired < planned_wake_up  # it ran once due, before the wake-up the worker had planned
    assert read(select(Job.id).where(Job.instance_id.in_(later)).limit(1)) is not None  # the later ones wait
    assert worker.poll() is None


def test_a_text_queued_while_the_worker_sleeps_until_a_later_job_is_sent_at_once(app, clock, worker):
    user = user_for_token(issue_token(create_user("root", password="secret-pw-1", roles=("admin",), clock=clock),
                                      clock))
    start_timer(app, clock, fires_at=datetime.now(UTC) + TIMER_DELAY, user=user)
    first = queue_text_now("first")
    wait_until(lambda: sent_at(first) is not None)
    second = queue_text_now("second")  # the worker sleeps until the timer, half an hour ahead (or IDLE_SECONDS)
    wait_until(lambda: sent_at(second) is not None)
    first_sent, second_sent = sent_at(first), sent_at(second)
    assert first_sent is not None and second_sent is not None
    assert second_sent < first_sent + timedelta(seconds=IDLE_SECONDS)  # before the wake-up it had planned
