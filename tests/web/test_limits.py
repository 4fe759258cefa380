"""Execution limits through the API: a designer's endless loop, huge number, huge list or looping instructions
fail the one step (or show a notice), name the element and the limit, keep the previous state, and never
hold a web worker."""

from __future__ import annotations

from typing import Any

import pytest

from app.services.people.users import create_user
from app.services.settings import change_setting
from tests.conftest import Api
from tests.console_client import PASSWORD, Browser
from tests.support.paths import FIXTURES

LIMITS = FIXTURES / "limits"


@pytest.fixture
def deployed(deploy):
    deploy({path.name: path.read_bytes() for path in LIMITS.iterdir() if path.is_file()})


@pytest.fixture
def admin(app, clock):
    return create_user("root", password=PASSWORD, roles=("admin",), clock=clock)


@pytest.fixture
def quick_cpu_limit(admin, clock):
    """A fifth of a second of CPU per step instead of the default second: the loops fail sooner."""
    change_setting("step_cpu_seconds", "0.2", user=admin, clock=clock)


@pytest.fixture
def agent(api_as) -> Api:
    return api_as("li", "cs_agent")


def entered(agent: Api, process_id: str) -> tuple[dict[str, Any], Any]:
    """Start ``process_id``, complete its first task; the task and the completion's response."""
    started = agent.start(process_id)
    assert started.status_code == 201, started.json
    task = started.json["tasks"][0]
    return task, agent.complete(task["id"], {"note": "第一步"})


def assert_failed_step(agent: Api, task: dict[str, Any], response: Any, element_id: str, limit: str) -> dict:
    """The step is refused as a run-time error: instance in error at the element, limit named, state kept."""
    assert response.status_code == 200, response.json
    assert response.json["status"] == "error"
    detail = agent.get(f"/instances/{task['instance_id']}").json
    assert detail["status"] == "error"
    assert detail["error"]["element_id"] == element_id
    assert limit in detail["error"]["message"]
    assert [(t["id"], t["state"]) for t in detail["tasks"]] == [(task["id"], "open")]  # the step before it
    return detail


def test_an_endless_loop_fails_its_step_naming_the_script_and_the_cpu_limit(deployed, quick_cpu_limit, agent):
    task, response = entered(agent, "limits_loop")
    detail = assert_failed_step(agent, task, response, "work", "step_cpu_seconds")
    assert "0.2 s of CPU" in detail["error"]["message"]


def test_the_default_cpu_limit_also_ends_an_endless_loop(deployed, agent):
    task, response = entered(agent, "limits_loop")
    detail = assert_failed_step(agent, task, response, "work", "step_cpu_seconds")
    assert "1 s of CPU" in detail["error"]["message"]


def test_a_huge_power_is_refused_before_it_is_computed(deployed, agent):
    task, response = entered(agent, "limits_power")
    detail = assert_failed_step(agent, task, response, "work", "value size limit")
    assert detail["error"]["line"] == 1


def test_a_huge_power_in_a_gateway_condition_is_refused_at_the_gateway(deployed, agent):
    task, response = entered(agent, "limits_condition")
    assert_failed_step(agent, task, response, "choose", "value size limit")


def test_a_huge_list_is_refused_naming_the_instance_data_setting(deployed, agent):
    task, response = entered(agent, "limits_big_list")
    assert_failed_step(agent, task, response, "work", "instance_data_max_kb")


def test_the_failed_step_is_audited_with_what_was_submitted(deployed, quick_cpu_limit, agent):
    task, _ = entered(agent, "limits_loop")
    detail = agent.get(f"/instances/{task['instance_id']}").json
    [event] = [event for event in detail["events"] if event["action"] == "error"]
    assert event["data"]["submitted"] == {"note": "第一步"}
    assert "step_cpu_seconds" in event["data"]["message"]


def test_an_errored_instance_refuses_the_same_task_again(deployed, quick_cpu_limit, agent):
    task, _ = entered(agent, "limits_loop")
    again = agent.complete(task["id"], {"note": "再试"})
    assert again.status_code == 409
    assert again.json["code"] == "instance_not_active"


def test_a_hundred_kilobytes_of_data_pass_by_default_and_fail_once_the_admin_lowers_the_limit(
        app, deployed, admin, agent):
    _, response = entered(agent, "limits_medium")
    assert response.json["status"] == "running"

    browser = Browser(app.test_client())
    assert browser.log_in("root").status_code == 302
    browser.get("/admin/settings")
    assert browser.post("/admin/settings/instance_data_max_kb", {"value": "64"}).status_code == 302

    task, response = entered(agent, "limits_medium")
    detail = assert_failed_step(agent, task, response, "work", "instance_data_max_kb")
    assert "its data is larger than 64 KB" in detail["error"]["message"]


def test_the_cpu_setting_refuses_values_outside_its_bounds(app, admin):
    browser = Browser(app.test_client())
    browser.log_in("root")
    browser.get("/admin/settings")
    refused = browser.post("/admin/settings/step_cpu_seconds", {"value": "0"})
    assert refused.status_code in (200, 422)
    assert "0.1" in refused.get_data(as_text=True)


def test_looping_instructions_show_a_notice_instead_of_hanging_the_task(deployed, agent):
    task = agent.start("limits_template").json["tasks"][0]
    shown = agent.get(f"/tasks/{task['id']}")
    assert shown.status_code == 200
    assert "显示限制" in shown.json["instructions"]
    assert "请处理" not in shown.json["instructions"]


def test_the_console_task_page_shows_the_notice_too(app, deployed, make_user):
    make_user("wang", "cs_agent")
    browser = Browser(app.test_client())
    assert browser.log_in("wang").status_code == 302
    api = Api(app.test_client(), make_user("li", "cs_agent"))
    task = api.start("limits_template").json["tasks"][0]
    page = browser.get(f"/tasks/{task['id']}")
    assert page.status_code == 200
    assert "显示限制" in page.get_data(as_text=True)
