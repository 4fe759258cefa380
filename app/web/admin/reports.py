"""The weekly report of open tickets for the property manager: the list as it is now, stored reports, CSV."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, render_template
from flask_babel import gettext as _
from flask_login import current_user

from app.services import reports as report_service
from app.services.projects import visible_projects
from app.web.admin import MANAGERS, admin, require_roles
from app.web.i18n import select_locale
from app.web.labels import code_label


@admin.get("/reports/weekly")
@require_roles(MANAGERS)
def weekly_report() -> str:
    now = current_app.extensions["kefu"].clock.now()
    tickets = report_service.open_tickets(now, allowed_projects=visible_projects(current_user.principal))
    return render_template("admin/report_weekly.html", groups=report_service.by_department(tickets),
                           total=len(tickets), stored=None, reports=report_service.recent_reports(),
                           parse_iso=datetime.fromisoformat)


@admin.get("/reports/weekly/<int:report_id>")
@require_roles(MANAGERS)
def stored_weekly_report(report_id: int) -> str:
    report = report_service.stored_report(report_id, allowed_projects=visible_projects(current_user.principal))
    return render_template("admin/report_weekly.html", groups=report_service.by_department(report.tickets),
                           total=report.open_count, stored=report, reports=report_service.recent_reports(),
                           parse_iso=datetime.fromisoformat)


@admin.get("/reports/weekly.csv")
@require_roles(MANAGERS)
def weekly_report_csv() -> Response:
    now = current_app.extensions["kefu"].clock.now()
    tickets = report_service.open_tickets(now, allowed_projects=visible_projects(current_user.principal))
    return _csv(tickets, f"open-tickets-{now.date().isoformat()}.csv")


@admin.get("/reports/weekly/<int:report_id>.csv")
@require_roles(MANAGERS)
def stored_weekly_report_csv(report_id: int) -> Response:
    report = report_service.stored_report(report_id, allowed_projects=visible_projects(current_user.principal))
    return _csv(report.tickets, f"weekly-report-{report.week_start.isoformat()}.csv")


def _csv(tickets: list[report_service.OpenTicket], filename: str) -> Response:
    locale = select_locale()

    def label(kind: str, code: str | None) -> str:
        if kind == "overdue":
            return _("overdue")
        if kind == "department" and not code:
            return _("Not assigned")
        return code_label(kind, code, locale)

    body = report_service.report_csv(tickets, label=label, timezone=current_app.extensions["kefu"].timezone,
                                     headers=_headers())
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _headers() -> list[str]:
    return [_("Department"), _("Ticket"), _("Project"), _("Unit"), _("Category"), _("Stage"), _("Escalation level"),
            _("Received"), _("Deadline"), _("Age (days)"), _("Overdue")]
