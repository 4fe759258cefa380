"""The worker and execution limits: a timer leading into an endless loop fails each try within the CPU limit,
becomes an incident after its retries while other timers still fire; a job whose worker died or hung
spends a retry on every try; /api/v1/health tells that a job is stuck and how long the oldest has waited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.jobs import Job
from app.services.jobs.queue import take_due_jobs
from app.services.people.users import create_user
from app.services.settings import change_setting
from app.worker import Worker
from tests.support.paths import FIXTURES

A_SECOND = timedelta(seconds=1)
LIMITS = FIXTURES / "limits"


@pytest.fixture
def timers(deploy, clock):
    deploy({path.name: path.read_bytes() for path in LIMITS.iterdir() if path.is_file()})
    admin = create_user("root", password="secret-pw-1", roles=("admin",), clock=clock)
    change_setting("step_cpu_seconds", "0.2", user=admin, clock=clock)  # each try fails sooner


def job_of(instance_id: int) -> tuple[int, int]:
    """The instance's timer job as (retries left, attempts)."""
    db.session.remove()
    job = db.session.scalars(select(Job).where(Job.instance_id == instance_id)).one()
    return job.retries_left, job.attempts


def test_a_timer_into_an_endless_loop_becomes_an_incident_while_another_timer_still_fires(app, api_as, clock,
                                                                                           timers):
    agent, admin = api_as("wang", "cs_agent"), api_as("boss", "admin")
    looping = agent.start("limits_timer_loop").json["id"]
    plain = agent.start("limits_timer_ok").json["id"]
    worker = Worker(app)

    clock.advance(timedelta(hours=1) + A_SECOND)
    assert worker.run_pending() == {"retry": 1, "done": 1}
    assert [task["name"] for task in agent.get(f"/instances/{plain}").json["tasks"]] == ["review"]
    assert agent.get(f"/instances/{looping}").json["status"] == "waiting"  # the state before the step
    assert job_of(looping) == (2, 1)

    clock.advance(timedelta(seconds=11))
    assert worker.run_pending() == {"retry": 1}
    clock.advance(timedelta(minutes=1, seconds=1))
    assert worker.run_pending() == {"incident": 1}

    failed = admin.get(f"/instances/{looping}").json
    assert failed["status"] == "error"
    assert failed["error"]["element_id"] == "work"
    assert "step_cpu_seconds" in failed["error"]["message"]
    assert job_of(looping) == (0, 3)
    assert admin.client.get("/api/v1/health").json["worker"]["incidents"] == 1


def test_a_job_whose_worker_never_finishes_spends_a_retry_each_time_and_becomes_an_incident(app, api_as, clock,
                                                                                             timers):
    agent, admin = api_as("wang", "cs_agent"), api_as("boss", "admin")
    instance_id = agent.start("limits_timer_ok").json["id"]
    lock_seconds = app.config["WORKER_LOCK_SECONDS"]
    clock.advance(timedelta(hours=1) + A_SECOND)

    for attempt in (1, 2, 3):  # each worker takes the job, then hangs or is killed
        assert [job.instance_id for job in take_due_jobs(f"hung-{attempt}", now=clock.now(),
                                                         lock_seconds=lock_seconds, limit=10)] == [instance_id]
        assert job_of(instance_id) == (4 - attempt, attempt)
        clock.advance(timedelta(seconds=lock_seconds + 1))

    assert Worker(app, owner="survivor").run_pending() == {"incident": 1}  # not run a fourth time
    failed = admin.get(f"/instances/{instance_id}").json
    assert failed["status"] == "error"
    assert "lock time" in failed["error"]["message"]
    assert job_of(instance_id) == (0, 4)


def test_health_reports_a_job_held_past_its_lock_and_the_age_of_the_oldest_overdue_job(app, api_as, clock, timers):
    agent = api_as("wang", "cs_agent")
    agent.start("limits_timer_ok")
    lock_seconds = app.config["WORKER_LOCK_SECONDS"]
    health = agent.client.get

    clock.advance(timedelta(hours=1) + timedelta(seconds=30))
    waiting = health("/api/v1/health").json["worker"]
    assert (waiting["status"], waiting["overdue_jobs"], waiting["oldest_overdue_seconds"]) == ("ok", 1, 30)

    take_due_jobs("hung-worker", now=clock.now(), lock_seconds=lock_seconds, limit=10)
    running = health("/api/v1/health")
    assert (running.status_code, running.json["worker"]["status"], running.json["worker"]["stuck_jobs"]) == (
        200, "ok", 0)

    clock.advance(timedelta(seconds=lock_seconds + 1))
    stuck = health("/api/v1/health")
    assert stuck.status_code == 503
    assert stuck.json["status"] == "degraded"
    assert (stuck.json["worker"]["status"], stuck.json["worker"]["stuck_jobs"]) == ("stuck", 1)
    assert stuck.json["worker"]["oldest_overdue_seconds"] == 30 + lock_seconds + 1

    assert Worker(app).run_pending() == {"done": 1}
    assert health("/api/v1/health").json["worker"]["status"] == "ok"


def test_health_says_the_worker_is_behind_when_a_due_job_waited_five_minutes(app, api_as, clock, timers):
    api_as("wang", "cs_agent").start("limits_timer_ok")
    clock.advance(timedelta(hours=1, minutes=5, seconds=1))
    behind = app.test_client().get("/api/v1/health")
    assert behind.status_code == 503
    assert (behind.json["worker"]["status"], behind.json["worker"]["oldest_overdue_seconds"]) == ("behind", 301)
