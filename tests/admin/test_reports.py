"""The weekly report for the property manager: open tickets by department with age and deadline; page, CSV, job."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Bundle, ProcessInstance, Ticket
from app.models.jobs import Notification
from app.services.figures.reports import generate_weekly_report
from app.services.people.organisation import create_project, limit_user_to_projects
from app.services.people.users import create_user, find_user
from tests.web.test_console import Browser

PASSWORD = "secret-pw-1"
MONDAY_8 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # Monday 9 March 2026, 08:00 in Shanghai


@pytest.fixture
def make_ticket(app):
    bundle_id = db.session.execute(insert(Bundle).values(
        process_id="reception", version=1, title="t", content_hash="x", spec_key="reception@x", files={},
        serialized_spec="", lane_roles={}, start_roles=[], source="disk",
        deployed_at=MONDAY_8 - timedelta(days=60)).returning(Bundle.id)).scalar_one()
    made = []

    def make(*, project="lanting", status="waiting", **values):
        n = len(made) + 1
        instance_id = db.session.execute(insert(ProcessInstance).values(
            bundle_id=bundle_id, process_id="reception", spec_key="reception@x", status=status, state="",
            started_at=values["received_at"], lock_version=1).returning(ProcessInstance.id)).scalar_one()
        number = f"KF-20260301-{n:04d}"
        db.session.execute(insert(Ticket).values(number=number, instance_id=instance_id, project_key=project,
                                                 unit_code=f"3-{n:04d}", category=values.pop("category", "repair"),
                                                 **values))
        db.session.commit()
        made.append(number)
        return number

    return make


@pytest.fixture
def estate(app, clock, make_ticket):
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    for username, roles in (("feng", ["property_manager"]), ("gao", ["property_manager"]), ("root", ["admin"]),
                            ("wang", ["cs_agent"]), ("chen", ["cs_supervisor"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)
    clock.set(MONDAY_8)
    tickets = {
        "late": make_ticket(department="engineering", stage="repair", received_at=MONDAY_8 - timedelta(days=10),
                            due_at=MONDAY_8 - timedelta(days=3), escalation_level=2),
        "fresh": make_ticket(department="engineering", stage="dispatch", received_at=MONDAY_8 - timedelta(hours=12),
                             due_at=MONDAY_8 + timedelta(days=1)),
        "property": make_ticket(department="property", category="complaint", stage="investigation",
                                received_at=MONDAY_8 - timedelta(days=2), due_at=MONDAY_8 + timedelta(days=1)),
        "unassigned": make_ticket(stage="intake", received_at=MONDAY_8 - timedelta(hours=1)),
        "other_project": make_ticket(project="binjiang", department="property", stage="solution",
                                     received_at=MONDAY_8 - timedelta(days=1)),
        "closed": make_ticket(department="property", received_at=MONDAY_8 - timedelta(days=5),
                              closed_at=MONDAY_8 - timedelta(days=1), status="completed"),
        "terminated": make_ticket(department="property", received_at=MONDAY_8 - timedelta(days=5),
                                  status="terminated"),
    }
    return tickets


def browser(app, username):
    person = Browser(app.test_client())
    assert person.log_in(username, PASSWORD).status_code == 302
    return person


def test_the_weekly_report_lists_every_open_ticket_by_department_with_age_and_deadline(app, estate):
    page = browser(app, "feng").get("/admin/reports/weekly")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("late", "fresh", "property", "unassigned", "other_project"):
        assert f'data-ticket="{estate[name]}"' in html, name
    assert estate["closed"] not in html and estate["terminated"] not in html
    # grouped: engineering first (late before fresh, by deadline), then property, then no department
    order = [html.index(f'data-ticket="{estate[name]}"') for name in ("late", "fresh", "property", "unassigned")]
    assert order == sorted(order)
    assert html.index('data-department="engineering"') < html.index('data-department="property"') < html.index(
        'data-department=""')
    late_row = html[html.index(f'data-ticket="{estate["late"]}"'):]
    assert 'class="table-danger"' in html[html.index(f'data-ticket="{estate["late"]}"') - 30:][:60]
    assert ">10.0<" in late_row[:1500] and "2026-03-06 08:00" in late_row[:1500]  # 10 days old, due 3 days ago
    assert "共 5 个未结工单" in html


def test_the_weekly_report_downloads_as_csv(app, estate):
    response = browser(app, "feng").get("/admin/reports/weekly.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["责任部门", "工单", "楼盘"]
    by_number = {row[1]: row for row in rows[1:]}
    assert set(by_number) == {estate[n] for n in ("late", "fresh", "property", "unassigned", "other_project")}
    late = by_number[estate["late"]]
    assert late[0].startswith("运筹/工程") and late[8] == "2026-03-06 08:00" and late[9] == "10.0" and late[10]
    assert by_number[estate["fresh"]][10] == ""


def test_generating_the_report_stores_it_and_notifies_every_property_manager_once(app, estate, clock):
    find_user("gao").is_active = False
    db.session.commit()
    report_id = generate_weekly_report(MONDAY_8)
    notices = db.session.scalars(select(Notification).where(Notification.kind == "weekly_report")).all()
    assert [notice.user_id for notice in notices] == [find_user("feng").id]
    assert notices[0].params["open_tickets"] == 5 and notices[0].params["overdue"] == 1
    assert notices[0].link == f"/admin/reports/weekly/{report_id}"

    assert generate_weekly_report(MONDAY_8 + timedelta(minutes=5)) == report_id  # a retried job: no second notice
    assert db.session.scalar(select(db.func.count()).select_from(Notification)) == 1

    clock.advance(timedelta(days=2))  # what happens after the report does not change it
    page = browser(app, "feng").get(notices[0].link).get_data(as_text=True)
    assert "2026-03-09" in page and f'data-ticket="{estate["late"]}"' in page
    assert ">10.0<" in page  # the age when it was generated, not two days later
    stored = browser(app, "feng").get(f"/admin/reports/weekly/{report_id}.csv").get_data(as_text=True)
    assert estate["late"] in stored and ",10.0," in stored


def test_next_weeks_report_is_a_new_one(app, estate):
    first = generate_weekly_report(MONDAY_8)
    second = generate_weekly_report(MONDAY_8 + timedelta(days=7))
    assert second != first
    html = browser(app, "feng").get("/admin/reports/weekly").get_data(as_text=True)
    assert f"/admin/reports/weekly/{first}" in html and f"/admin/reports/weekly/{second}" in html


def test_a_manager_limited_to_one_project_sees_only_its_tickets(app, estate):
    limit_user_to_projects(find_user("feng").id, ["binjiang"])
    html = browser(app, "feng").get("/admin/reports/weekly").get_data(as_text=True)
    assert estate["other_project"] in html and estate["late"] not in html
    report_id = generate_weekly_report(MONDAY_8)
    stored = browser(app, "feng").get(f"/admin/reports/weekly/{report_id}.csv").get_data(as_text=True)
    assert estate["other_project"] in stored and estate["late"] not in stored


def test_the_weekly_report_is_for_managers(app, estate):
    assert browser(app, "chen").get("/admin/reports/weekly").status_code == 200
    agent = browser(app, "wang")
    assert agent.get("/admin/reports/weekly").status_code == 403
    assert agent.get("/admin/reports/weekly.csv").status_code == 403
    report_id = generate_weekly_report(MONDAY_8)
    assert agent.get(f"/admin/reports/weekly/{report_id}").status_code == 403
    assert browser(app, "feng").get("/admin/reports/weekly/99999").status_code == 404


def test_a_long_department_list_keeps_the_most_urgent_first(app, estate):
    from app.services.figures.reports import by_department, open_tickets

    [engineering, *_] = by_department(open_tickets(MONDAY_8), limit=1)
    assert (engineering.department, engineering.total, engineering.overdue) == ("engineering", 2, 1)
    assert [ticket.number for ticket in engineering.tickets] == [estate["late"]]
