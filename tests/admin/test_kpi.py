"""The dashboard's figures against hand-counted values, and the counters the steps keep against a rebuild."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Bundle, HumanTask, ProcessInstance, Ticket
from app.models.reports import KpiDaily
from app.services.figures import counters
from app.services.figures import dashboard as figures
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from tests.services.test_concurrency import race
from tests.web.test_console import Browser

TIMEZONE = "Asia/Shanghai"
TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"
PASSWORD = "secret-pw-1"


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    """A Shanghai wall-clock time in March 2026, as stored (UTC)."""
    return datetime(2026, month, day, hour, tzinfo=UTC) - timedelta(hours=8)


# Hand-counted fixture: period 2026-03-02 .. 2026-03-08 (Shanghai business days), project lanting.
KNOWN = {
    "T1": dict(category="repair", part="roof_waterproof", department="engineering", received_at=at(2),
               closed_at=at(3), closed_in_time=True, closed_first_time=True, satisfaction="satisfied",
               outcome="resolved"),
    "T2": dict(category="repair", part="plumbing", department="engineering", received_at=at(2, 15),
               closed_at=at(4), closed_in_time=False, closed_first_time=False, satisfaction="very_satisfied",
               outcome="resolved", repeat_repair=True, rework_count=1),
    "T3": dict(category="complaint", department="property", received_at=at(3), closed_at=at(5),
               closed_in_time=True, closed_first_time=False, satisfaction="dissatisfied", outcome="resolved",
               reopened=True),
    "T4": dict(category="complaint", department="property", received_at=at(4), escalation_level=1,
               attached_calls=2),
    "T5": dict(category="consultation", department=None, received_at=at(5), closed_at=at(5, 11),
               closed_in_time=True, closed_first_time=True, outcome="answered"),
    "T6": dict(category="repair", part="electrical", department="property", received_at=at(6), closed_at=at(7),
               closed_in_time=False, closed_first_time=True, outcome="unreachable"),
    "T7": dict(category="repair", part="plumbing", department="engineering", received_at=at(20, month=2),
               closed_at=at(2, 8), closed_in_time=True, closed_first_time=False, satisfaction="satisfied",
               outcome="resolved"),
    # 01:00 on 9 March in Shanghai (still 8 March in UTC): outside the period.
    "T8": dict(category="repair", part="plumbing", department="engineering", received_at=at(9, 1)),
    "T9": dict(category="repair", part="plumbing", department="engineering", received_at=at(3),
               project_key="binjiang"),
}
NO_TIME_LIMIT = {"T5"}  # answered on the spot: every other ticket is due a day after the call


@pytest.fixture
def known_tickets(app, clock):
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    bundle_id = db.session.execute(insert(Bundle).values(
        process_id="reception", version=1, title="t", content_hash="x", spec_key="reception@x", files={},
        serialized_spec="", lane_roles={}, start_roles=[], source="disk", deployed_at=at(1)).returning(Bundle.id)
    ).scalar_one()
    for n, (name, values) in enumerate(KNOWN.items(), start=1):
        instance_id = db.session.execute(insert(ProcessInstance).values(
            bundle_id=bundle_id, process_id="reception", spec_key="reception@x", status="waiting", state="",
            started_at=values["received_at"], lock_version=1).returning(ProcessInstance.id)).scalar_one()
        due_at = None if name in NO_TIME_LIMIT else values["received_at"] + timedelta(days=1)
        ticket_id = db.session.execute(insert(Ticket).values(
            number=f"KF-TEST-{n:04d}", instance_id=instance_id, unit_code=f"1-{n:03d}", due_at=due_at,
            **{"project_key": "lanting", **values}).returning(Ticket.id)).scalar_one()
        counters.count_ticket(ticket_id, timezone=TIMEZONE, data={"hot_spot": "leak_crack"} if name == "T3" else {})
    db.session.commit()
    for username, roles in (("manager", ["property_manager"]), ("agent", ["cs_agent"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)


def dashboard_page(app, username, **query):
    browser = Browser(app.test_client())
    browser.log_in(username, PASSWORD)
    response = browser.get("/admin/dashboard", query_string=query)
    return response


def page_data(response):
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>',
                      response.get_data(as_text=True), re.S)
    assert found, response.get_data(as_text=True)[:500]
    return json.loads(found.group(1))


def test_the_figures_of_a_project_follow_the_written_formulas(app, known_tickets):
    board = figures.dashboard(start=date(2026, 3, 2), end=date(2026, 3, 8), project_key="lanting")
    totals = board.totals
    assert (totals.received, totals.closed) == (6, 6)                      # T1-T6; T1 T2 T3 T5 T6 T7
    assert totals.completion_rate == pytest.approx(5 / 6)                  # T1 T2 T3 T5 T6 of T1-T6
    assert totals.timeliness_rate == pytest.approx(3 / 5)                  # T1 T3 T7; T5 had no limit
    assert totals.first_time_rate == pytest.approx(3 / 6)                  # T1 T5 T6
    assert totals.satisfaction_rate == pytest.approx(3 / 4)                # T1 T2 T7 of T1 T2 T3 T7
    assert totals.callback_rate == pytest.approx(4 / 5)                    # reached 4 of 4 + T6 unreachable
    assert (totals.repeat_repairs, totals.attached_calls) == (1, 2)        # T2; T4's two calls
    assert (totals.reopened, totals.escalated) == (1, 1)                   # T3; T4
    assert [(day.day, f.received, f.closed) for day, f in board.days] == [
        (2, 2, 1), (3, 1, 1), (4, 1, 1), (5, 1, 2), (6, 1, 0), (7, 0, 1), (8, 0, 0)]


def test_the_figures_are_broken_down_by_department_category_and_hot_spot(app, known_tickets):
    board = figures.dashboard(start=date(2026, 3, 2), end=date(2026, 3, 8), project_key="lanting")
    departments = {s.value: s.figures for s in board.by_department}
    assert (departments["engineering"].received, departments["engineering"].closed) == (2, 3)  # T1 T2; T1 T2 T7
    assert departments["engineering"].timeliness_rate == pytest.approx(2 / 3)                # T1 T7
    assert departments["property"].timeliness_rate == pytest.approx(1 / 2)                   # T3 of T3 T6
    assert departments[""].received == 1                                                     # T5, no department
    categories = {s.value: s.figures.received for s in board.by_category}
    assert categories == {"repair": 3, "complaint": 2, "consultation": 1}
    assert {s.value: s.figures.received for s in board.hot_spots} == {
        "leak_crack": 2, "plumbing": 1, "electrical": 1, "other": 1}  # T1 roof + T3 classified; T4 unclassified


def test_the_whole_company_adds_every_project(app, known_tickets):
    board = figures.dashboard(start=date(2026, 3, 2), end=date(2026, 3, 8))
    assert board.totals.received == 7
    assert board.totals.completion_rate == pytest.approx(5 / 7)
    assert {s.value: s.figures.received for s in board.by_project} == {"lanting": 6, "binjiang": 1}


def test_a_manager_reads_the_figures_on_the_dashboard_with_their_formulas(app, known_tickets):
    response = dashboard_page(app, "manager", project="lanting", **{"from": "2026-03-02", "to": "2026-03-08"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'id="kpi-completion_rate">83\.3%<', html)
    assert re.search(r'id="kpi-timeliness_rate">60\.0%<', html)
    assert re.search(r'id="kpi-satisfaction_rate">75\.0%<', html)
    assert re.search(r'id="kpi-first_time_rate">50\.0%<', html)
    assert re.search(r'id="kpi-callback_rate">80\.0%<', html)
    assert "办结率 = 期间内受理且已关闭的工单 ÷ 期间内受理的工单" in html  # the tooltip
    data = page_data(response)
    assert data["daily"]["received"] == [2, 1, 1, 1, 1, 0, 0]
    assert data["totals"]["timeliness_rate"] == 60.0
    assert "渗漏裂" in data["hot_spots"]["labels"]


def test_the_dashboard_sums_weeks_and_months(app, known_tickets):
    data = page_data(dashboard_page(app, "manager", period="week", **{"from": "2026-02-16", "to": "2026-03-08"}))
    assert data["daily"]["labels"] == ["2026-02-16", "2026-02-23", "2026-03-02"]
    assert data["daily"]["received"] == [1, 0, 7]  # T7; -; T1-T6 and T9
    data = page_data(dashboard_page(app, "manager", period="month", **{"from": "2026-02-16", "to": "2026-03-08"}))
    assert data["daily"]["labels"] == ["2026-02-01", "2026-03-01"]


def test_a_wrong_period_is_explained_and_the_last_thirty_days_shown(app, known_tickets):
    response = dashboard_page(app, "manager", **{"from": "2026-03-09", "to": "2026-03-01"})
    assert response.status_code == 400
    assert 'id="dashboard-error"' in response.get_data(as_text=True)
    assert len(page_data(response)["daily"]["labels"]) == 30


def test_only_managers_open_the_dashboard(app, known_tickets):
    assert dashboard_page(app, "agent").status_code == 403
    anonymous = app.test_client().get("/admin/dashboard")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


# --- the counters the steps keep ------------------------------------------------------------------------

@pytest.fixture
def estate(app, deploy):
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")
    create_unit("lanting", "5-0801")


def intake(**overrides):
    """A call as the agent records it; a None leaves the field out."""
    data = {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
            "channel": "hotline", "category": "repair", "part": "plumbing", "description": "厨房水管漏水",
            "urgency": "normal", **overrides}
    return {key: value for key, value in data.items() if value is not None}


def counter_rows():
    """Every counter row (rows a change emptied again are left at zero; a rebuild leaves none)."""
    rows = db.session.execute(select(KpiDaily.__table__)).all()
    return sorted(tuple(row) for row in rows if any(row[5:]))


def test_the_counters_kept_by_each_step_equal_a_rebuild_from_the_tickets(app, estate, api_as, clock):
    agent = api_as("wang", "cs_agent")
    opened = [agent.post("/tickets", json={"data": intake(**extra)}).json for extra in (
        {}, {"unit": "5-0801", "part": "roof_waterproof"}, {"category": "complaint", "part": None})]
    clock.advance(timedelta(hours=3))
    first = opened[0]["instance"]["tasks"][0]["id"]
    assert agent.complete(first, {"outcome": "resolved", "satisfaction": "satisfied"}).status_code == 200
    clock.advance(timedelta(hours=30))  # past the 24 h limit
    second = opened[1]["instance"]["tasks"][0]["id"]
    assert agent.complete(second, {"outcome": "resolved", "satisfaction": "dissatisfied",
                                   "reopen_as_complaint": True}).status_code == 200
    assert agent.post(f"/tickets/{opened[2]['ticket']['number']}/calls",
                      json={"data": {"caller_name": "张先生", "phone": "13800138000"}}).status_code == 200
    agent.post("/tickets", json={"data": intake()})  # the same unit and part again: a repeat repair
    kept = counter_rows()

    counters.rebuild(timezone=TIMEZONE)

    assert counter_rows() == kept
    board = figures.dashboard(start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert (board.totals.received, board.totals.closed) == (5, 2)  # 3 calls + reopened complaint + repeat
    assert board.totals.timeliness_rate == pytest.approx(1 / 2)
    assert board.totals.repeat_repairs == 2  # flagged on both
    assert board.totals.duplicate_dispatches == 1  # the repeat: dispatched again within the window
    assert board.totals.attached_calls == 1
    assert board.totals.reopened == 1


def test_the_time_of_each_step_and_person_is_averaged(app, estate, api_as, clock):
    agent = api_as("wang", "cs_agent")
    for hours in (2, 4):
        task = agent.post("/tickets", json={"data": intake()}).json["instance"]["tasks"][0]["id"]
        clock.advance(timedelta(hours=hours))
        assert agent.complete(task, {"outcome": "resolved"}).status_code == 200
    board = figures.dashboard(start=date(2026, 3, 1), end=date(2026, 3, 31))
    [stage] = board.stages
    assert (stage.value, stage.figures.tasks_done, stage.figures.average_task_hours) == ("reception/resolve", 2, 3.0)
    [person] = board.people
    assert (person.label, person.figures.tasks_done) == ("wang", 2)


def test_a_manager_limited_to_one_project_sees_only_its_figures(app, known_tickets):
    from app.services.people.organisation import limit_user_to_projects
    from app.services.people.users import find_user

    limit_user_to_projects(find_user("manager").id, ["binjiang"])
    data = page_data(dashboard_page(app, "manager", **{"from": "2026-03-02", "to": "2026-03-08"}))
    assert data["totals"]["received"] == 1
    assert data["projects"]["labels"] == ["滨江府"]
    # a project they are not on is ignored: they still see their own
    data = page_data(dashboard_page(app, "manager", project="lanting", **{"from": "2026-03-02", "to": "2026-03-08"}))
    assert data["totals"]["received"] == 1


@pytest.mark.slow  # replays a month of tickets through the shipped flows (~25 s)
def test_a_month_of_demo_tickets_through_the_shipped_flows_counts_as_a_rebuild_does(app, clock):
    """Every path of the real flows (reopened complaints, rework, repeat repairs, callbacks) moves the counters
    exactly as recounting the tickets from scratch would."""
    from app.config import PROJECT_ROOT
    from app.services.definitions.deploy import deploy_from_disk

    app.config.update(KEFU_ENV="development", BPMN_DIR=PROJECT_ROOT / "bpmn", FORMS_DIR=PROJECT_ROOT / "forms")
    deploy_from_disk(app.extensions["kefu"], app.config["BPMN_DIR"], app.config["FORMS_DIR"])
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    db.session.remove()
    kept = counter_rows()

    counters.rebuild(timezone=TIMEZONE)

    rebuilt = counter_rows()
    assert [row for row in kept if row not in rebuilt] == [] and [row for row in rebuilt if row not in kept] == []
    done = db.session.execute(select(db.func.count()).select_from(HumanTask).join(
        Ticket, Ticket.instance_id == HumanTask.instance_id).where(HumanTask.state == "completed")).scalar_one()
    tasks_done = list(KpiDaily.__table__.c.keys()).index("tasks_done")
    assert sum(row[tasks_done] for row in kept if row[0] == "element" and row[2] != counters.COMPANY) == done
    board = figures.dashboard(start=clock.now().date() - timedelta(days=40), end=clock.now().date())
    assert board.totals.received == db.session.scalar(select(db.func.count()).select_from(Ticket))


@pytest.mark.concurrency
def test_the_counters_stay_exact_when_calls_are_recorded_and_answered_at_once(app, estate, api_as):
    """Every intake and step adds to the same rows of the day (the project's, the company's, their months), written
    last in each transaction: ten answers and ten new calls at the same moment still count each exactly once."""
    agent = api_as("wang", "cs_agent")
    for n in range(20):
        create_unit("lanting", f"9-{n:04d}")  # one unit each: no repeat repair, no duplicate dispatch
    first = [agent.post("/tickets", json={"data": intake(unit=f"9-{n:04d}")}).json for n in range(10)]
    answers = [lambda client, task=opened["instance"]["tasks"][0]["id"]: client.post(
        f"/api/v1/tasks/{task}/complete", json={"data": {"outcome": "resolved", "satisfaction": "satisfied"}},
        headers=agent.user.headers) for opened in first]
    calls = [lambda client, n=n: client.post("/api/v1/tickets", json={"data": intake(unit=f"9-{n:04d}")},
                                             headers=agent.user.headers) for n in range(10, 20)]
    statuses = race(app, answers + calls)
    assert statuses == {200: 10, 201: 10}
    kept = counter_rows()

    counters.rebuild(timezone=TIMEZONE)

    assert counter_rows() == kept
    board = figures.dashboard(start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert (board.totals.received, board.totals.closed, board.totals.satisfied) == (20, 10, 10)
    assert figures.dashboard(start=date(2026, 3, 1), end=date(2026, 3, 31), project_key="lanting").totals.received == 20


def test_an_admin_recounts_the_figures_of_tickets_that_predate_the_counters(app, known_tickets, clock):
    db.session.execute(KpiDaily.__table__.delete())
    db.session.commit()
    create_user("root", password=PASSWORD, roles=["admin"], clock=clock)
    admin = Browser(app.test_client())
    admin.log_in("root", PASSWORD)
    admin.get("/admin/dashboard")
    assert admin.post("/admin/dashboard/recount").status_code == 302
    data = page_data(admin.get("/admin/dashboard", query_string={"from": "2026-03-02", "to": "2026-03-08"}))
    assert data["totals"]["received"] == 7
    manager = Browser(app.test_client())
    manager.log_in("manager", PASSWORD)
    manager.get("/admin/dashboard")
    assert 'id="recount"' not in manager.get("/admin/dashboard").get_data(as_text=True)
    assert manager.post("/admin/dashboard/recount").status_code == 403
