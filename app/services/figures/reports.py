"""The weekly report for the property manager: every ticket still open, by department, with age and deadline.

The worker calls ``generate_weekly_report`` every Monday 08:00 (business time); it stores the list
as it stood and tells every active property manager. The page also shows the list as it is now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import ProcessInstance, Project, Ticket
from app.models.reports import WeeklyReport
from app.services.errors import NotFoundError, msg
from app.services.handover.progress import Progress
from app.services.handover.progress import figures_for as handover_figures
from app.services.jobs.notifications import notify, user_ids_with_role
from app.services.oversight.exports import spreadsheet_cell
from app.services.steps.plan import step_transaction

DEFAULT_TIMEZONE = "Asia/Shanghai"
# Every status but completed and terminated, listed (a NOT IN would read every instance).
OPEN_STATUSES = ("running", "waiting", "suspended", "error")


@dataclass(frozen=True)
class OpenTicket:
    """One line of the report (plain values, stored as JSON)."""

    number: str
    project_key: str
    project: str
    unit: str
    category: str
    stage: str | None
    department: str | None
    escalation_level: int
    received_at: str  # ISO 8601, UTC
    due_at: str | None
    age_days: float
    overdue: bool


@dataclass(frozen=True)
class DepartmentGroup:
    """One department's open tickets: ``tickets`` are the first ``limit`` by deadline, ``total`` all of them."""

    department: str | None
    tickets: list[OpenTicket]
    total: int
    overdue: int


def open_tickets(now: datetime, *, allowed_projects: Iterable[str] | None = None,
                 per_department: int | None = None) -> list[OpenTicket]:
    """Every ticket still open at ``now`` (its flow neither finished nor terminated), by department, then
    deadline; with ``per_department``, only that many of each department, the most urgent (what a page shows)."""
    due_order = (Ticket.due_at.is_(None), Ticket.due_at, Ticket.number)
    rank = func.row_number().over(partition_by=Ticket.department, order_by=due_order).label("rank")
    query = (select(Ticket.number, Ticket.project_key, Project.name, Ticket.unit_code, Ticket.category, Ticket.stage,
                    Ticket.department, Ticket.escalation_level, Ticket.received_at, Ticket.due_at, rank)
             .join(Project, Project.key == Ticket.project_key)
             .where(*_still_open(allowed_projects)))
    if per_department is not None:
        ranked = query.subquery()
        query = select(*[column for column in ranked.c if column.name != "rank"]).where(
            ranked.c.rank <= per_department)
    rows = db.session.execute(query).all()
    tickets = [OpenTicket(row.number, row.project_key, row.name, row.unit_code, row.category, row.stage,
                          row.department, row.escalation_level, row.received_at.isoformat(),
                          row.due_at.isoformat() if row.due_at else None,
                          round((now - row.received_at).total_seconds() / 86400, 1),
                          row.due_at is not None and row.due_at < now) for row in rows]
    return sorted(tickets, key=lambda t: (t.department or "\uffff", t.due_at is None, t.due_at or "", t.number))


def open_counts(now: datetime, *, allowed_projects: Iterable[str] | None = None) -> dict[str | None, tuple[int, int]]:
    """(open, overdue) tickets per department, counted by the database."""
    overdue = func.sum(case((Ticket.due_at < now, 1), else_=0))
    rows = db.session.execute(select(Ticket.department, func.count(), overdue)
                              .where(*_still_open(allowed_projects)).group_by(Ticket.department))
    return {row[0]: (int(row[1]), int(row[2] or 0)) for row in rows}


def _still_open(allowed_projects: Iterable[str] | None) -> list[Any]:
    conditions = [Ticket.closed_at.is_(None), Ticket.instance_id.in_(
        select(ProcessInstance.id).where(ProcessInstance.status.in_(OPEN_STATUSES)))]
    if allowed_projects is not None:
        conditions.append(Ticket.project_key.in_(list(allowed_projects)))
    return conditions


def by_department(tickets: Iterable[OpenTicket], *, limit: int = 500,
                  counts: dict[str | None, tuple[int, int]] | None = None) -> list[DepartmentGroup]:
    """The tickets per department (in the order given), at most ``limit`` of each; totals from ``counts``
    when the tickets are only the first of each department."""
    groups: dict[str | None, list[OpenTicket]] = {}
    for ticket in tickets:
        groups.setdefault(ticket.department, []).append(ticket)
    result = []
    for department, items in groups.items():
        total, overdue = (counts or {}).get(department, (len(items), sum(t.overdue for t in items)))
        result.append(DepartmentGroup(department, items[:limit], total, overdue))
    return result


def generate_weekly_report(now: datetime, *, timezone: str = DEFAULT_TIMEZONE) -> int:
    """Store this business week's report and notify every active property manager; returns the report's id.

    Runs once per week: called again in the same week (a retried job), it returns the stored report
    and notifies nobody twice. Joins the caller's step transaction, or commits on its own.
    """
    local = now.astimezone(ZoneInfo(timezone))
    week_start = local.date() - timedelta(days=local.weekday())
    with step_transaction():
        existing = db.session.scalar(select(WeeklyReport.id).where(WeeklyReport.week_start == week_start))
        if existing is not None:
            return int(existing)
        tickets = open_tickets(now)
        report = WeeklyReport(week_start=week_start, generated_at=now, open_count=len(tickets),
                              rows=[ticket.__dict__ for ticket in tickets])
        db.session.add(report)
        db.session.flush()
        notify(user_ids_with_role("property_manager"), kind="weekly_report",
               params={"open_tickets": len(tickets), "overdue": sum(t.overdue for t in tickets),
                       "week_start": week_start.isoformat(), "report_id": report.id},
               now=now, link=f"/admin/reports/weekly/{report.id}")
        report_id = int(report.id)
    return report_id


@dataclass(frozen=True)
class StoredReport:
    id: int
    week_start: date
    generated_at: datetime
    open_count: int
    tickets: list[OpenTicket]


def stored_report(report_id: int, *, allowed_projects: Iterable[str] | None = None) -> StoredReport:
    """A stored report, limited to the reader's projects; raise NotFoundError."""
    report = db.session.get(WeeklyReport, report_id)
    if report is None:
        raise NotFoundError(msg("no report %(report_id)s", report_id=report_id))
    tickets = [OpenTicket(**row) for row in report.rows]
    if allowed_projects is not None:
        allowed = set(allowed_projects)
        tickets = [ticket for ticket in tickets if ticket.project_key in allowed]
    return StoredReport(report.id, report.week_start, report.generated_at, len(tickets), tickets)


def handover_progress(now: datetime, *, allowed_projects: Iterable[str] | None = None,
                      timezone: str = DEFAULT_TIMEZONE) -> list[Progress]:
    """The handover defects per project and building as they are now (open, overdue, rework, 渗漏裂 apart)."""
    return handover_figures(now, timezone=timezone, allowed_projects=allowed_projects)


def recent_reports(limit: int = 12) -> list[tuple[int, date, datetime, int]]:
    """(id, week start, generated at, open count) of the latest reports, newest first."""
    rows = db.session.execute(select(WeeklyReport.id, WeeklyReport.week_start, WeeklyReport.generated_at,
                                     WeeklyReport.open_count).order_by(WeeklyReport.week_start.desc()).limit(limit))
    return [(row.id, row.week_start, row.generated_at, row.open_count) for row in rows]


def report_csv(tickets: Iterable[OpenTicket], *, label: Callable[[str, str | None], str], timezone: str,
               headers: Iterable[str]) -> str:
    """The report as CSV (UTF-8 with BOM so Excel reads the Chinese), codes as ``label`` reads them,
    times in business time."""
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(list(headers))
    for t in tickets:
        writer.writerow([spreadsheet_cell(cell) for cell in (
            label("department", t.department), t.number, t.project, t.unit, label("category", t.category),
            label("stage", t.stage), t.escalation_level, _local(t.received_at, zone), _local(t.due_at, zone),
            f"{t.age_days:.1f}", label("overdue", "yes") if t.overdue else "")])
    return out.getvalue()


def _local(moment: str | None, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

