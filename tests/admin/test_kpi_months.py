"""The year's dashboard, summed from the monthly roll-ups and the days at its edges, against the raw tickets and tasks.

Tickets are opened and worked through the API over a year on a manual clock, with steps on the edges that matter:
a ticket received in the last minutes of March in Shanghai (still 31 March in UTC) and closed in the first minutes
of April, one received in April's first half hour (31 March in UTC), a ticket closed a month after the month it was
received in (the step moves an old month's roll-up), and tickets just outside the period on either side. Each
period's slices (projects, departments, categories, stages, people) must equal what summing the raw rows gives: a
roll-up that missed a step or counted one twice shows a different figure. The same after the admin's recount.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, Ticket
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from tests.admin.test_kpi import TICKET_FIXTURES, intake
from tests.web.test_console import Browser

ZONE = ZoneInfo("Asia/Shanghai")
PASSWORD = "secret-pw-1"


def shanghai(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time, as the clock gives it (UTC)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


# (ticket, project, what the call says, received, closed or None), in the order the clock passes them.
TICKETS = [
    ("before", "lanting", {}, shanghai(2025, 4, 5), shanghai(2025, 4, 12)),  # received before the 365 days
    ("late", "lanting", {"category": "complaint", "part": None}, shanghai(2025, 4, 20), shanghai(2025, 5, 2)),
    ("summer", "binjiang", {"unit": "2-0301"}, shanghai(2025, 9, 15), shanghai(2025, 9, 16, 15)),
    ("midnight", "lanting", {"unit": "5-0801"}, shanghai(2026, 3, 31, 23, 30), shanghai(2026, 4, 1, 0, 10)),
    ("april", "binjiang", {"category": "consultation", "part": None, "unit": "2-0301"},
     shanghai(2026, 4, 1, 0, 30), None),
    ("after", "lanting", {}, shanghai(2026, 4, 12), shanghai(2026, 4, 12, 16)),  # after the period
]
PERIODS = [
    (date(2025, 4, 10), date(2026, 4, 9)),  # April 2025 as its month less nine days; April 2026 as nine days
    (date(2025, 4, 1), date(2026, 3, 31)),  # twelve whole months
    (date(2025, 4, 2), date(2026, 4, 1)),  # the midnight ticket closes, the April one is received, on the last day
    (date(2026, 3, 25), date(2026, 4, 1)),  # a week across the month's end: days only
]


@pytest.fixture
def clock(make_clock):
    return make_clock(at=shanghai(2025, 4, 1, 8))


@pytest.fixture
def a_year_of_tickets(app, deploy, api_as, clock):
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    for key, name, units in (("lanting", "兰亭苑", ("3-1202", "5-0801")), ("binjiang", "滨江府", ("2-0301",))):
        create_project(key, name)
        for unit in units:
            create_unit(key, unit)
    create_user("manager", password=PASSWORD, roles=["property_manager"], clock=clock)
    create_user("root", password=PASSWORD, roles=["admin"], clock=clock)
    agents = {"lanting": api_as("wang", "cs_agent"), "binjiang": api_as("zhao", "cs_agent")}
    steps = sorted([(received, "receive", n) for n, (*_, received, _) in enumerate(TICKETS)]
                   + [(closed, "close", n) for n, (*_, closed) in enumerate(TICKETS) if closed])
    tasks: dict[int, str] = {}
    for moment, step, n in steps:
        _, project, call, _, _ = TICKETS[n]
        clock.set(moment)
        if step == "receive":
            opened = agents[project].post("/tickets", json={"data": intake(project=project, **call)})
            assert opened.status_code == 201, opened.json
            tasks[n] = opened.json["instance"]["tasks"][0]["id"]
        else:
            done = agents[project].complete(tasks[n], {"outcome": "resolved", "satisfaction": "satisfied"})
            assert done.status_code == 200, done.json


def raw_figures(start: date, end: date) -> dict[str, dict[str, tuple[object, ...]]]:
    """Each table's rows as summing the tickets and completed tasks themselves gives them."""
    def inside(moment: datetime | None) -> bool:
        return moment is not None and start <= moment.astimezone(ZONE).date() <= end

    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for ticket in db.session.scalars(select(Ticket)):
        for table, value in (("by-project", ticket.project_key), ("by-department", ticket.department or ""),
                             ("by-category", ticket.category)):
            counts[table][value][0] += inside(ticket.received_at)
            counts[table][value][1] += inside(ticket.closed_at)
    for task in db.session.scalars(select(HumanTask).join(Ticket, Ticket.instance_id == HumanTask.instance_id)
                                   .where(HumanTask.state == "completed")):
        if inside(task.completed_at):
            seconds = int((task.completed_at - task.created_at).total_seconds())
            for table, value in (("by-stage", f"{task.process_id}/{task.element_id}"),
                                 ("by-person", str(task.completed_by_id))):
                counts[table][value][0] += 1
                counts[table][value][1] += seconds
    result: dict[str, dict[str, tuple[object, ...]]] = {}
    for table, rows in counts.items():
        if table in ("by-stage", "by-person"):
            result[table] = {value: (done, f"{seconds / done / 3600:.1f}") for value, (done, seconds) in rows.items()}
        else:
            result[table] = {value: (received, closed) for value, (received, closed) in rows.items()
                             if received or closed}
    return result


def shown_figures(html: str) -> dict[str, dict[str, tuple[object, ...]]]:
    """The same tables as the dashboard shows them."""
    shown = {}
    for table in ("by-project", "by-department", "by-category", "by-stage", "by-person"):
        found = re.search(rf'<table[^>]*id="{table}">(.*?)</table>', html, re.S)
        assert found, table
        rows = {}
        for value, cells in re.findall(r'<tr data-value="([^"]*)">(.*?)</tr>', found.group(1), re.S):
            texts = re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
            rows[value] = (int(texts[1]), texts[2]) if table in ("by-stage", "by-person") else (
                int(texts[1]), int(texts[2]))
        shown[table] = rows
    return shown


def year_page(browser: Browser, start: date, end: date) -> str:
    response = browser.get("/admin/dashboard", query_string={"from": start.isoformat(), "to": end.isoformat()})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_years_dashboard_shows_what_the_raw_tickets_and_tasks_sum_to(app, a_year_of_tickets):
    manager = Browser(app.test_client())
    manager.log_in("manager", PASSWORD)
    for start, end in PERIODS:
        assert shown_figures(year_page(manager, start, end)) == raw_figures(start, end), (start, end)

    first = shown_figures(year_page(manager, *PERIODS[0]))
    assert first["by-project"] == {"lanting": (2, 3), "binjiang": (2, 1)}  # hand-counted: late, midnight; ...
    assert sum(done for done, _ in first["by-stage"].values()) == 4  # before, late, summer, midnight
    whole_months = shown_figures(year_page(manager, *PERIODS[1]))
    assert whole_months["by-project"] == {"lanting": (3, 2), "binjiang": (1, 1)}  # midnight closes in April


def test_after_a_recount_the_years_dashboard_still_shows_the_raw_sums(app, a_year_of_tickets):
    admin = Browser(app.test_client())
    admin.log_in("root", PASSWORD)
    before = {period: shown_figures(year_page(admin, *period)) for period in PERIODS}
    admin.get("/admin/dashboard")

    assert admin.post("/admin/dashboard/recount").status_code == 302

    for start, end in PERIODS:
        shown = shown_figures(year_page(admin, start, end))
        assert shown == before[(start, end)] == raw_figures(start, end), (start, end)
