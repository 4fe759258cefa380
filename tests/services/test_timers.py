"""Due timers fire through the service: the task index, audit log and instance move together."""

from datetime import timedelta

from app.extensions import db
from app.models import AuditEvent
from app.services.work.timers import due_instance_ids, fire_due_timers
from tests.conftest import fixture_files


def test_a_missed_reply_deadline_escalates_to_the_supervisor(app, api_as, deploy, clock):
    deploy(fixture_files("timer.bpmn", "timer_reply.json", "timer_escalate.json"))
    agent, supervisor = api_as("wang", "cs_agent"), api_as("chen", "cs_supervisor")
    started = agent.start("timer_demo").json
    rt = app.extensions["kefu"]

    clock.advance(timedelta(hours=4))
    assert due_instance_ids(clock.now()) == []  # due at 4 h exactly: fires only once it has passed
    clock.advance(timedelta(seconds=1))
    assert due_instance_ids(clock.now()) == [started["id"]]

    fired = fire_due_timers(rt, started["id"])
    assert [task.element_id for task in fired.open_tasks] == ["escalate"]
    assert [t["name"] for t in supervisor.get("/tasks?scope=group").json["items"]] == ["escalate"]
    assert agent.complete(started["tasks"][0]["id"], {}).status_code == 409  # the reply task was cancelled
    assert due_instance_ids(clock.now()) == []
    db.session.remove()
    assert db.session.query(AuditEvent).filter_by(instance_id=started["id"], action="timer").count() == 1


def test_firing_before_anything_is_due_changes_nothing(app, api_as, deploy):
    deploy(fixture_files("timer.bpmn", "timer_reply.json", "timer_escalate.json"))
    started = api_as("wang", "cs_agent").start("timer_demo").json
    fired = fire_due_timers(app.extensions["kefu"], started["id"])
    assert [task.id for task in fired.open_tasks] == [started["tasks"][0]["id"]]
