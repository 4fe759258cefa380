"""The weekly report of open tickets for the property manager: the list as it is now, stored reports, CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from flask import Response, render_template, url_for
from flask_babel import gettext as _

from app.services.access import may_manage
from app.services.figures import reports as report_service
from app.services.people.organisation import visible_projects
from app.web.context import me, require, runtime
from app.web.i18n import select_locale
from app.web.labels import code_label


@require(may_manage)
def weekly_report() -> str:
    now = runtime().clock.now()
    allowed = visible_projects(me())
    counts = report_service.open_counts(now, allowed_projects=allowed)
    tickets = report_service.open_tickets(now, allowed_projects=allowed, per_department=PAGE_LIMIT)
    return _page(tickets, total=sum(total for total, _ in counts.values()), stored=None, counts=counts)


@require(may_manage)
def stored_weekly_report(report_id: int) -> str:
    report = report_service.stored_report(report_id, allowed_projects=visible_projects(me()))
    return _page(report.tickets, total=report.open_count, stored=report)


def _page(tickets: list[report_service.OpenTicket], *, total: int, stored: report_service.StoredReport | None,
          counts: dict[str | None, tuple[int, int]] | None = None) -> str:
    """The groups with each line's text prepared here (thousands of lines: the template only prints them)."""
    locale = select_locale()
    zone = ZoneInfo(runtime().timezone)
    ticket_url = url_for("console.ticket_page", number="NUMBER").replace("NUMBER", "")
    def line(t: report_service.OpenTicket) -> Line:
        deadline = datetime.fromisoformat(t.due_at).astimezone(zone).strftime("%Y-%m-%d %H:%M") if t.due_at else "—"
        return Line(t.number, ticket_url + t.number, t.project, t.unit, code_label("category", t.category, locale),
                    code_label("stage", t.stage, locale), f"{t.age_days:.1f}", deadline, t.overdue,
                    t.escalation_level)

    groups = [(group, [line(t) for t in group.tickets])
              for group in report_service.by_department(tickets, limit=PAGE_LIMIT, counts=counts)]
    return render_template("admin/report_weekly.html", groups=groups, total=total, stored=stored,
                           reports=report_service.recent_reports(),
                           handover=report_service.handover_progress(  # as it is now, stored report or not
                               runtime().clock.now(), allowed_projects=visible_projects(me()),
                               timezone=runtime().timezone))


PAGE_LIMIT = 200  # lines per department on the page; the CSV has every ticket


@dataclass(frozen=True)
class Line:
    number: str
    url: str
    project: str
    unit: str
    category: str
    stage: str
    age: str
    deadline: str
    overdue: bool
    escalation_level: int


@require(may_manage)
def weekly_report_csv() -> Response:
    now = runtime().clock.now()
    tickets = report_service.open_tickets(now, allowed_projects=visible_projects(me()))
    return _csv(tickets, f"open-tickets-{now.date().isoformat()}.csv")


@require(may_manage)
def stored_weekly_report_csv(report_id: int) -> Response:
    report = report_service.stored_report(report_id, allowed_projects=visible_projects(me()))
    return _csv(report.tickets, f"weekly-report-{report.week_start.isoformat()}.csv")


def _csv(tickets: list[report_service.OpenTicket], filename: str) -> Response:
    locale = select_locale()

    def label(kind: str, code: str | None) -> str:
        if kind == "overdue":
            return cast(str, _("overdue"))  # flask_babel has no type hints
        if kind == "department" and not code:
            return cast(str, _("Not assigned"))
        return code_label(kind, code, locale)

    body = report_service.report_csv(tickets, label=label, timezone=runtime().timezone,
                                     headers=_headers())
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _headers() -> list[str]:
    return [_("Department"), _("Ticket"), _("Project"), _("Unit"), _("Category"), _("Stage"), _("Escalation level"),
            _("Received"), _("Deadline"), _("Age (days)"), _("Overdue")]
