"""Planned callbacks when things happen at once, or go wrong: a plan cancelled while the daily job is starting
it, the daily job run twice, one plan that cannot start, the owner's survey answer arriving as the flow's timer
hands the call to an agent. And what stays the callbacks' own: a callback's survey is no survey of /surveys,
and the services refuse the roles the pages refuse.

The races are laid out by running the other party at the exact moment in between (inside the job's read of the
plans due, inside the answer's delivery to the flow), then read back through the API and the pages.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.clock import ManualClock
from app.engine import EngineRunError, RunError
from app.extensions import db
from app.models.outreach import Survey
from app.services.errors import ForbiddenError
from app.services.outreach import callback_plans, planned_callbacks, surveys
from app.services.people.organisation import create_unit
from app.services.people.users import find_user
from tests.console_client import Browser
from tests.scenarios.conftest import Desk, run_timer_worker
from tests.scenarios.test_callback_methods import (
    LEAKING_WINDOW,
    MOBILE,
    UNIT,
    at_local,
    logged_in,
    on,
    outbox_to,
    plan_a_day,
    plan_rows,
    planned_tasks,
    regular_owner,
    survey_link_in,
)

__all__ = ["regular_owner"]  # the fixture, shared with test_callback_methods
SECOND_UNIT = "8栋-0102"


@pytest.fixture
def two_owners(app: Flask, desk: Desk, clock: ManualClock, regular_owner: None) -> None:
    """赵先生 (8栋-0101) and 钱女士 (8栋-0102), both planned for a phone call on Monday 9 March."""
    create_unit("lanting", SECOND_UNIT, owner_name="钱女士", owner_phone="13700000002")
    plan_a_day(app, "warranty_expiring")  # callback_plan.dmn: phoned by the desk's agents


def plan_ids(app: Flask) -> dict[str, int]:
    return {row["unit"]: int(row["plan"]) for row in plan_rows(app)}


def statuses(app: Flask) -> dict[str, str]:
    return {row["unit"]: row["status"] for row in plan_rows(app)}


def test_a_plan_cancelled_while_the_job_is_starting_the_day_is_not_started(
        app: Flask, desk: Desk, clock: ManualClock, two_owners: None, monkeypatch: pytest.MonkeyPatch) -> None:
    cancelled = plan_ids(app)[SECOND_UNIT]
    read_plans_due = planned_callbacks.due_plans

    def due_then_cancelled(today: date) -> list[Any]:
        due = read_plans_due(today)
        with app.app_context():  # the supervisor cancels, in a request of their own, just after the job read
            assert desk.staff.supervisor.post(f"/callback-plans/{cancelled}/cancel").json["status"] == "cancelled"
        return due

    monkeypatch.setattr(planned_callbacks, "due_plans", due_then_cancelled)
    on(date(2026, 3, 9), 8, app, clock)

    assert statuses(app) == {UNIT: "started", SECOND_UNIT: "cancelled"}
    assert [desk.task_data(desk.staff.agent, task)["unit"] for task in planned_tasks(desk.staff.agent)] == [UNIT]


def test_the_daily_job_run_twice_at_once_starts_each_plan_once(
        app: Flask, desk: Desk, clock: ManualClock, two_owners: None, monkeypatch: pytest.MonkeyPatch) -> None:
    read_plans_due = planned_callbacks.due_plans
    other_runs: list[int] = []

    def due_while_another_run_starts_them(today: date) -> list[Any]:
        due = read_plans_due(today)
        if not other_runs:  # a second worker runs the same day's job between this one's read and its starts
            other_runs.append(0)
            with app.app_context():
                other_runs[0] = planned_callbacks.start_due_callbacks(app.extensions["kefu"], clock.now())
        return due

    monkeypatch.setattr(planned_callbacks, "due_plans", due_while_another_run_starts_them)
    on(date(2026, 3, 9), 8, app, clock)

    assert other_runs == [2]
    assert len(planned_tasks(desk.staff.agent)) == 2, "one call per plan"
    assert statuses(app) == {UNIT: "started", SECOND_UNIT: "started"}


def test_a_plan_that_cannot_start_leaves_the_days_other_plans_started_and_starts_once_it_can(
        app: Flask, desk: Desk, clock: ManualClock, two_owners: None, monkeypatch: pytest.MonkeyPatch) -> None:
    start_flow = planned_callbacks.start_for_the_system

    def failing_for_the_first_owner(rt: Any, process_id: str, data: Any, *, user: Any) -> Any:
        if data["unit"] == UNIT:
            raise RuntimeError("the flow failed on this plan")
        return start_flow(rt, process_id, data, user=user)

    monkeypatch.setattr(planned_callbacks, "start_for_the_system", failing_for_the_first_owner)
    on(date(2026, 3, 9), 8, app, clock)
    assert statuses(app) == {UNIT: "planned", SECOND_UNIT: "started"}
    assert [desk.task_data(desk.staff.agent, task)["unit"]
            for task in planned_tasks(desk.staff.agent)] == [SECOND_UNIT]

    monkeypatch.setattr(planned_callbacks, "start_for_the_system", start_flow)
    on(date(2026, 3, 10), 8, app, clock)  # the job came back the next morning, not as an incident
    assert statuses(app) == {UNIT: "started", SECOND_UNIT: "started"}


@pytest.fixture
def text_sent(app: Flask, desk: Desk, clock: ManualClock, regular_owner: None) -> str:
    """A text callback of 赵先生 on Monday 9 March; returns the link texted to him."""
    plan_a_day(app, "regular")
    on(date(2026, 3, 9), 8, app, clock)
    return survey_link_in(outbox_to(MOBILE)[0])


def test_an_answer_arriving_as_the_timer_hands_the_call_to_an_agent_is_kept_as_late(
        app: Flask, desk: Desk, clock: ManualClock, text_sent: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(at_local(date(2026, 3, 11), 18, 1))  # the fallback is due; the worker has not run yet
    engine = app.extensions["kefu"].engine
    deliver = engine.deliver_message
    fired: list[int] = []

    def deliver_as_the_timer_fires(state: str, name: str, payload: Any) -> Any:
        result = deliver(state, name, payload)
        if not fired:
            with app.app_context():  # the worker, in its own transaction, at this very moment
                fired.extend(run_timer_worker(app))
        return result

    monkeypatch.setattr(engine, "deliver_message", deliver_as_the_timer_fires)
    answered = Browser(app.test_client()).post(text_sent, LEAKING_WINDOW)

    assert answered.status_code == 200 and "已提交" in answered.get_data(as_text=True)
    assert len(fired) == 1
    [call] = planned_tasks(desk.staff.agent)
    assert call["name"] == "call_owner", "the agent phones: the timer won"
    [plan] = plan_rows(app)
    assert (plan["status"], plan["methods"]) == ("started", "")
    events = [event["action"] for event in desk.staff.supervisor.get(f"/instances/{plan['instance']}").json["events"]]
    assert "survey_answered_late" in events
    found = desk.staff.agent.get("/tickets", query_string={"q": "客厅窗户关不严"}).json["items"]
    assert [ticket["unit"] for ticket in found] == [UNIT], "the issue the owner wrote is still followed"


def test_an_answer_the_flow_fails_on_is_kept_and_said_undelivered(
        app: Flask, desk: Desk, clock: ManualClock, text_sent: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = app.extensions["kefu"].engine

    def failing(state: str, name: str, payload: Any) -> Any:
        raise EngineRunError(RunError("name 'satisfaction_score' is not defined", element_id="await_survey"))

    monkeypatch.setattr(engine, "deliver_message", failing)
    answered = Browser(app.test_client()).post(text_sent, LEAKING_WINDOW)

    assert answered.status_code == 200 and "已提交" in answered.get_data(as_text=True)
    [plan] = plan_rows(app)
    instance = desk.staff.supervisor.get(f"/instances/{plan['instance']}").json
    assert instance["status"] == "error"
    actions = [event["action"] for event in instance["events"]]
    assert "survey_answer_undelivered" in actions and "survey_answered_late" not in actions


def test_a_callbacks_survey_is_not_read_nor_exported_as_a_survey(
        app: Flask, desk: Desk, text_sent: str) -> None:
    assert Browser(app.test_client()).post(text_sent, LEAKING_WINDOW).status_code == 200
    callback_survey = db.session.scalar(select(Survey.id).where(Survey.callback_plan_id.is_not(None)))
    supervisor = desk.staff.supervisor

    assert supervisor.get("/surveys").json["items"] == []
    assert supervisor.get(f"/surveys/{callback_survey}").status_code == 404
    assert supervisor.get(f"/surveys/{callback_survey}/export.csv").status_code == 404
    assert supervisor.get(f"/surveys/{callback_survey}/export.xlsx").status_code == 404
    console = logged_in(app, "supervisor")
    assert console.get(f"/surveys/{callback_survey}").status_code == 404
    assert console.get(f"/surveys/{callback_survey}/export.csv").status_code == 404


def test_the_services_refuse_an_agent_as_the_pages_do(app: Flask, desk: Desk, two_owners: None) -> None:
    """The routes check the role first; the services check it too, for every other caller (the CLI, a job)."""
    agent = find_user("agent")
    plan_id = plan_ids(app)[UNIT]
    with pytest.raises(ForbiddenError):
        callback_plans.cancel_plan(plan_id, user=agent)
    asked = surveys.SurveyRequest("春季调查", "survey_community_activity.json", "lanting")
    with pytest.raises(ForbiddenError):
        surveys.send_survey(asked, forms_dir=app.config["FORMS_DIR"], user=agent, now=desk.clock.now(),
                            secret="s", link_for=str)
    with pytest.raises(ForbiddenError):
        surveys.survey_results(1, user=agent)
    assert statuses(app)[UNIT] == "planned"
