"""Ten people press "complete" on the same task at the same moment: exactly one wins.

These tests commit for real from several threads (each test has its own database).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance

pytestmark = pytest.mark.concurrency
RACERS = 10


def race(app, requests):
    """Run the request callables at once (behind a barrier); return their status codes."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(request):
        try:
            with app.app_context():
                client = app.test_client()
                barrier.wait()
                statuses.append(request(client).status_code)
                db.session.remove()
        except BaseException as exc:  # surfaced below: a thread's crash must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return Counter(statuses)


def test_ten_simultaneous_completions_of_one_task_advance_the_instance_once(app, api_as, deploy):
    deploy()
    agent = api_as("wang", "cs_agent")
    started = agent.start("five_tasks").json
    task_id = started["tasks"][0]["id"]
    path, headers = f"/api/v1/tasks/{task_id}/complete", agent.user.headers

    statuses = race(app, [lambda c: c.post(path, json={"data": {"note": "x"}}, headers=headers)] * RACERS)

    assert statuses == {200: 1, 409: RACERS - 1}
    completions = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.task_id == task_id, AuditEvent.action == "complete"))
    assert completions == 1
    instance = db.session.get(ProcessInstance, started["id"])
    assert instance.lock_version == 2  # started, then advanced exactly once
    open_tasks = db.session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance.id, HumanTask.state == "open")).all()
    assert open_tasks == ["t2"]


def test_ten_simultaneous_claims_of_one_task_leave_one_owner(app, api_as, deploy):
    deploy()
    agents = [api_as(f"agent{i}", "cs_agent") for i in range(RACERS)]
    task_id = agents[0].start("five_tasks").json["tasks"][0]["id"]
    path = f"/api/v1/tasks/{task_id}/claim"

    statuses = race(app, [lambda c, h=a.user.headers: c.post(path, headers=h) for a in agents])

    assert statuses == {200: 1, 409: RACERS - 1}
    claims = db.session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.task_id == task_id, AuditEvent.action == "claim"))
    assert claims == 1
