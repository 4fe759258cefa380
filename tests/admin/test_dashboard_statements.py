"""What a year's dashboard costs the database: its counters in two statements, its planned callbacks in one."""

from __future__ import annotations

from datetime import date

from app.services.figures import dashboard as figures
from app.services.people.organisation import create_project
from tests.support import count_queries


def test_a_years_dashboard_reads_its_counters_in_two_statements_and_its_planned_callbacks_in_one(app):
    create_project("lanting", "兰亭苑")
    with count_queries() as queries:
        figures.dashboard(start=date(2025, 4, 10), end=date(2026, 4, 9))
        figures.dashboard(start=date(2025, 4, 10), end=date(2026, 4, 9), allowed_projects=["lanting"])
        figures.dashboard(start=date(2025, 4, 10), end=date(2026, 4, 9), project_key="lanting")
    # per board: the chart's days; every slice (departments, categories, hot spots, steps, people, projects)
    assert sum("kpi_daily" in statement for statement in queries.statements) == 6
    assert sum("callback_calls" in statement for statement in queries.statements) == 3
