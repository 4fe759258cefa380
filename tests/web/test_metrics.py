"""/metrics: Prometheus text with the requests, the steps, the timers and the database's figures; guarded."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.worker import Worker
from tests.conftest import fixture_files
from tests.support.paths import ROOT

OUTSIDER = {"REMOTE_ADDR": "10.1.2.3"}


def samples(client, **kwargs) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(figures, name: str, **labels: str) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def agent(api_as, deploy):
    deploy(fixture_files("five_tasks.bpmn", "five_task.json", "timer.bpmn", "timer_reply.json",
                         "timer_escalate.json"))
    return api_as("li", "cs_agent")


def test_requests_steps_and_open_tasks_move_the_figures(client, agent):
    before = samples(client)
    task = agent.start("five_tasks").json["tasks"][0]
    assert agent.complete(task["id"], {"note": "done"}).status_code == 200

    after = samples(client)
    step = {"process": "five_tasks", "element": task["name"]}
    assert value(after, "kefu_step_duration_seconds_count", **step) == \
        value(before, "kefu_step_duration_seconds_count", **step) + 1
    completed = {"endpoint": "api.complete_task", "method": "POST", "status": "200"}
    assert value(after, "kefu_http_request_duration_seconds_count", **completed) == \
        value(before, "kefu_http_request_duration_seconds_count", **completed) + 1
    assert value(after, "kefu_open_tasks", stage="none") == 1  # the second of the five tasks, no ticket
    for name in ("kefu_outbox_backlog", "kefu_incidents", "kefu_instances_in_error"):
        assert (name, ()) in after


def test_a_timer_fired_late_shows_its_lag(client, agent, app, clock):
    before = samples(client)
    assert agent.start("timer_demo").status_code == 201
    clock.advance(timedelta(hours=4, minutes=10))  # the worker was down for ten minutes past the due time
    Worker(app).run_pending()

    after = samples(client)
    assert value(after, "kefu_timer_lag_seconds_count", kind="timer") == \
        value(before, "kefu_timer_lag_seconds_count", kind="timer") + 1
    lag = value(after, "kefu_timer_lag_seconds_sum", kind="timer") - value(before, "kefu_timer_lag_seconds_sum",
                                                                            kind="timer")
    assert lag == pytest.approx(600, abs=1)
    for bucket, moved in (("300.0", 0), ("900.0", 1)):  # ten minutes late: above 300 s, within 900 s
        assert value(after, "kefu_timer_lag_seconds_bucket", kind="timer", le=bucket) == \
            value(before, "kefu_timer_lag_seconds_bucket", kind="timer", le=bucket) + moved


def test_a_route_is_labelled_by_its_endpoint_not_its_path(client, agent):
    agent.get("/tasks/not-a-task-1")
    agent.get("/tasks/not-a-task-2")

    labels = [dict(labels) for name, labels in samples(client) if name == "kefu_http_request_duration_seconds_count"]
    assert not any("not-a-task" in label_value for label in labels for label_value in label.values())
    assert {"endpoint": "api.get_task", "method": "GET", "status": "404"} in labels


def test_without_a_token_only_a_loopback_address_may_read_the_metrics(client, monkeypatch):
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base=OUTSIDER).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_with_a_token_set_only_its_bearer_may_read_them_even_from_loopback(client, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-scrape-token")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"}, environ_base=OUTSIDER)
    assert allowed.status_code == 200
    assert b"kefu_open_tasks" in allowed.data


def test_with_a_multiprocess_directory_one_scrape_adds_up_every_process(client, monkeypatch, tmp_path):
    """gunicorn's workers each write their samples to PROMETHEUS_MULTIPROC_DIR; any one of them answers for all."""
    observe = "from app.services.ops.metrics import observe_step; observe_step('five_tasks', 'task_1', 0.02)"
    for _worker in range(2):
        subprocess.run([sys.executable, "-c", observe], check=True, cwd=ROOT,
                       env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    figures = samples(client)
    assert value(figures, "kefu_step_duration_seconds_count", process="five_tasks", element="task_1") == 2
    assert ("kefu_open_tasks", (("stage", "none"),)) not in figures  # no open task: no series
    assert ("kefu_outbox_backlog", ()) in figures  # the database's figures come along
