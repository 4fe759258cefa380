"""The job table and the worker on a manual clock: jobs follow timers, retries, incidents, lock expiry, conflicts."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditEvent, ProcessInstance
from app.models.jobs import Job
from app.services.jobs.queue import ensure_recurring_jobs, retry_instance, take_due_jobs
from app.services.people.auth import user_for_token
from app.worker import Worker
from tests.conftest import fixture_files

A_SECOND = timedelta(seconds=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
FOLLOW_UP_FLOW = Path(__file__).with_name("timer_fee.bpmn")


@pytest.fixture
def follow_up_flow(deploy):
    """Start → wait an hour → a script plans the follow-up with add_hours → the agent follows up."""
    deploy({"timer_fee.bpmn": FOLLOW_UP_FLOW.read_bytes()})


def jobs_of(instance_id: int) -> list[tuple[str, int, str | None]]:
    db.session.remove()
    return [(job.kind, job.retries_left, job.lock_owner)
            for job in db.session.scalars(select(Job).where(Job.instance_id == instance_id))]


def timer_events(instance_id: int) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.instance_id == instance_id, AuditEvent.action == "timer")) or 0


def test_a_waiting_timer_is_a_job_that_the_worker_runs_once_when_due_and_then_removes(app, api_as, clock,
                                                                                         follow_up_flow):
    agent = api_as("wang", "cs_agent")
    started = agent.start("timer_fee").json
    assert jobs_of(started["id"]) == [("timer", 3, None)]
    worker = Worker(app)

    clock.advance(timedelta(hours=1))
    assert worker.run_pending() == {}  # due at 1 h exactly: fires only once it has passed
    clock.advance(A_SECOND)
    assert worker.run_pending() == {"done": 1}

    assert [task["name"] for task in agent.get(f"/instances/{started['id']}").json["tasks"]] == ["follow_up"]
    assert jobs_of(started["id"]) == []
    clock.advance(timedelta(days=1))
    assert worker.run_pending() == {}
    assert timer_events(started["id"]) == 1


def test_a_completed_task_removes_the_timer_job_of_its_boundary_deadline(app, api_as, deploy):
    deploy(fixture_files("timer.bpmn", "timer_reply.json", "timer_escalate.json"))
    agent = api_as("wang", "cs_agent")
    started = agent.start("timer_demo").json
    assert [kind for kind, _, _ in jobs_of(started["id"])] == ["timer"]
    assert agent.complete(started["tasks"][0]["id"], {}).status_code == 200
    assert jobs_of(started["id"]) == []


def fail_add_hours(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper the follow-up script calls breaks (as a calendar service that is down would)."""
    def broken(*_args: Any) -> None:
        raise RuntimeError("calendar service unavailable")

    monkeypatch.setitem(app.extensions["kefu"].engine.script_engine.environment.globals, "add_hours", broken)


def test_a_failing_job_is_retried_with_back_off_then_becomes_an_incident_that_a_retry_after_the_fix_clears(
        app, api_as, clock, follow_up_flow, monkeypatch):
    agent, admin = api_as("wang", "cs_agent"), api_as("root", "admin")
    started = agent.start("timer_fee").json
    instance_id = started["id"]
    worker = Worker(app)
    fail_add_hours(app, monkeypatch)

    clock.advance(timedelta(hours=1) + A_SECOND)
    assert worker.run_pending() == {"retry": 1}
    assert jobs_of(instance_id) == [("timer", 2, None)]
    assert agent.get(f"/instances/{instance_id}").json["status"] == "waiting"  # a retry is not an incident yet
    assert worker.run_pending() == {}  # backing off: 10 s
    clock.advance(timedelta(seconds=11))
    assert worker.run_pending() == {"retry": 1}
    clock.advance(timedelta(seconds=30))
    assert worker.run_pending() == {}  # backing off: 1 min
    clock.advance(timedelta(seconds=31))
    assert worker.run_pending() == {"incident": 1}

    failed = admin.get(f"/instances/{instance_id}").json
    assert failed["status"] == "error"
    assert "calendar service unavailable" in failed["error"]["message"]
    assert jobs_of(instance_id) == [("timer", 0, None)]  # kept, not run, until someone retries
    clock.advance(timedelta(hours=1))
    assert worker.run_pending() == {}
    assert admin.client.get("/api/v1/health").json["worker"]["incidents"] == 1

    monkeypatch.undo()  # the fix
    outcome = retry_instance(app.extensions["kefu"], instance_id, actor=user_for_token(admin.user.token),
                             reason="日历服务已恢复")
    assert (outcome.status, [task.element_id for task in outcome.open_tasks]) == ("running", ["follow_up"])
    assert jobs_of(instance_id) == []
    assert timer_events(instance_id) == 0  # the timer fired inside the retry step, recorded as that
    db.session.remove()
    retried = db.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id,
                                                          AuditEvent.action == "retried")).one()
    assert retried.data == {"reason": "日历服务已恢复"}


def test_a_crashed_workers_jobs_are_taken_by_another_after_the_lock_expires(app, api_as, clock, follow_up_flow):
    agent = api_as("wang", "cs_agent")
    started = [agent.start("timer_fee").json["id"] for _ in range(3)]
    clock.advance(timedelta(hours=1) + A_SECOND)
    lock_seconds = app.config["WORKER_LOCK_SECONDS"]

    taken = take_due_jobs("crashed-worker", now=clock.now(), lock_seconds=lock_seconds, limit=10)
    assert sorted(job.instance_id for job in taken) == started  # ... and then the process died

    survivor = Worker(app, owner="survivor")
    assert survivor.run_pending() == {}  # locked by the dead worker
    clock.advance(timedelta(seconds=lock_seconds - 1))
    assert survivor.run_pending() == {}
    clock.advance(timedelta(seconds=2))
    assert survivor.run_pending() == {"done": 3}
    assert [timer_events(instance_id) for instance_id in started] == [1, 1, 1]


def test_a_job_that_loses_the_race_for_its_instance_is_requeued_without_spending_a_retry(
        app, api_as, clock, follow_up_flow, monkeypatch):
    agent = api_as("wang", "cs_agent")
    instance_id = agent.start("timer_fee").json["id"]
    engine = app.extensions["kefu"].engine
    fire = engine.fire_due_timers

    def someone_else_moves_the_instance_first(state: str) -> Any:
        result = fire(state)
        rows = ProcessInstance.__table__  # a plain table update: the session's copy keeps the old version
        db.session.execute(update(rows).where(rows.c.id == instance_id).values(lock_version=rows.c.lock_version + 1))
        return result

    monkeypatch.setattr(engine, "fire_due_timers", someone_else_moves_the_instance_first)
    clock.advance(timedelta(hours=1) + A_SECOND)
    worker = Worker(app)
    assert worker.run_pending() == {"requeued": 1}
    assert jobs_of(instance_id) == [("timer", 3, None)]

    monkeypatch.undo()
    assert worker.run_pending() == {"done": 1}
    assert timer_events(instance_id) == 1


def test_the_weekly_report_is_made_every_monday_at_eight_and_the_property_managers_are_told(app, api_as, clock):
    manager, agent = api_as("feng", "property_manager"), api_as("wang", "cs_agent")
    worker = Worker(app)
    ensure_recurring_jobs(now=clock.now(), timezone="Asia/Shanghai")  # Monday 2 March, 09:00 in Shanghai
    ensure_recurring_jobs(now=clock.now(), timezone="Asia/Shanghai")  # idempotent: every worker calls it

    clock.set(datetime(2026, 3, 9, 7, 59, tzinfo=SHANGHAI))
    assert worker.run_pending() == {}
    clock.set(datetime(2026, 3, 9, 8, 0, 1, tzinfo=SHANGHAI))
    assert worker.run_pending() == {"done": 1}

    notices = manager.get("/notifications").json["items"]
    assert [(n["kind"], n["link"].startswith("/admin/reports/weekly/")) for n in notices] == [("weekly_report", True)]
    assert agent.get("/notifications").json["items"] == []
    db.session.remove()
    assert [job.due_at for job in db.session.scalars(select(Job).where(Job.kind == "weekly-report"))] == [
        datetime(2026, 3, 16, 8, 0, tzinfo=SHANGHAI)]
