"""A request id: taken from X-Request-ID when sane, else made; echoed, logged as JSON, kept in the step's audit."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from app.extensions import db
from app.logging_setup import JsonFormatter
from app.models import AuditEvent
from tests.conftest import fixture_files


@pytest.fixture
def agent(api_as, deploy):
    deploy(fixture_files("five_tasks.bpmn", "five_task.json"))
    return api_as("li", "cs_agent")


def complete_event(task_id: str) -> AuditEvent:
    db.session.expire_all()
    return db.session.scalars(select(AuditEvent).where(AuditEvent.task_id == task_id,
                                                       AuditEvent.action == "complete")).one()


def test_the_callers_request_id_is_echoed_and_kept_in_the_steps_audit_event(agent):
    task = agent.start("five_tasks").json["tasks"][0]
    done = agent.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"note": "ok"}},
                             headers={**agent.user.headers, "X-Request-ID": "lb-7f3a.91:2"})

    assert done.status_code == 200
    assert done.headers["X-Request-ID"] == "lb-7f3a.91:2"
    assert complete_event(task["id"]).data == {"note": "ok", "request_id": "lb-7f3a.91:2"}


def test_the_audit_trail_people_read_does_not_show_the_request_id(agent):
    task = agent.start("five_tasks").json["tasks"][0]
    agent.complete(task["id"], {"note": "ok"})

    [event] = [e for e in agent.get(f"/instances/{task['instance_id']}").json["events"] if e["action"] == "complete"]
    assert event["data"] == {"note": "ok"}


@pytest.mark.parametrize("offered", ["", "x" * 65, "a b", "<script>", "id\r\nSet-Cookie: a=b"])
def test_an_insane_request_id_is_replaced_by_one_made_here(client, offered):
    response = client.get("/api/v1/health", headers={"X-Request-ID": offered} if "\n" not in offered else {})
    made = response.headers["X-Request-ID"]
    assert made != offered and len(made) == 32 and made.isalnum()


def test_each_request_without_an_id_gets_its_own(client):
    assert client.get("/api/v1/health").headers["X-Request-ID"] != client.get("/api/v1/health").headers["X-Request-ID"]


def test_the_access_log_line_is_one_json_object_with_the_request_id_route_status_and_user(agent, caplog):
    with caplog.at_level(logging.INFO, logger="kefu.request"):
        agent.client.get("/api/v1/tasks", headers={**agent.user.headers, "X-Request-ID": "trace-42"})

    [record] = [r for r in caplog.records if r.name == "kefu.request"]
    line = json.loads(JsonFormatter().format(record))
    assert {key: line[key] for key in ("level", "logger", "request_id", "route", "method", "status")} == {
        "level": "INFO", "logger": "kefu.request", "request_id": "trace-42", "route": "api.list_tasks",
        "method": "GET", "status": 200}
    assert isinstance(line["user_id"], int) and line["duration_ms"] >= 0 and line["time"].endswith("+00:00")
    assert "\n" not in JsonFormatter().format(record)


def test_production_logs_json_lines_and_development_keeps_text(monkeypatch):
    from app.logging_setup import configure_logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    configure_logging(json_lines=False)
    assert not any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers)
    monkeypatch.setattr(root, "level", root.level)
    configure_logging(json_lines=True)
    assert [type(handler.formatter) for handler in root.handlers] == [JsonFormatter]
