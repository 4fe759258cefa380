"""The CS supervisor's wallboard (客服主管看板): one page for a wall screen, refreshed from a JSON endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.services.access import may_watch_wallboard
from app.services.figures import wallboard as figures
from app.services.people.organisation import projects_for, visible_projects
from app.web.context import me, project_name, require, runtime, signed_in
from app.web.i18n import select_locale
from app.web.labels import code_label

REFRESH_SECONDS = 30


@require(may_watch_wallboard)
def wallboard_page() -> str:
    project_key = _chosen_project()
    # ?refresh=N: a screen that should poll more or less often (2 s to 5 min)
    refresh = min(max(request.args.get("refresh", REFRESH_SECONDS, type=int) or REFRESH_SECONDS, 2), 300)
    return render_template("wallboard/wallboard.html", board=_board_json(project_key), project_key=project_key,
                           projects=projects_for(me()), refresh_seconds=refresh,
                           data_url=url_for("console.wallboard_data", project=project_key or None))


@require(may_watch_wallboard)
def wallboard_data() -> Response:
    response = jsonify(_board_json(_chosen_project()))
    response.headers["Cache-Control"] = "no-store"
    return response


def menu_helpers() -> dict[str, Any]:
    """What the menu asks of every page: whether to offer the wallboard (and the reception log behind it)."""
    return {"may_watch_wallboard": lambda: signed_in() and may_watch_wallboard(me())}


def _chosen_project() -> str:
    """The project asked for, when it is one of mine; '' for all of mine."""
    wanted = request.args.get("project", "")
    return wanted if wanted in {project.key for project in projects_for(me())} else ""


def _board_json(project_key: str) -> dict[str, Any]:
    rt = runtime()
    projects = {project_key} if project_key else visible_projects(me())
    board = figures.wallboard(now=rt.clock.now(), timezone=rt.timezone, projects=projects)
    zone = ZoneInfo(rt.timezone)
    locale = select_locale()
    return {
        "day": board.day.isoformat(), "updated": board.now.astimezone(zone).strftime("%H:%M:%S"),
        "calls": board.calls, "new_tickets": board.new_tickets, "attached_calls": board.attached_calls,
        "chases": board.chases,
        "open_total": board.open_total, "overdue": board.overdue, "soon_due": board.soon_due,
        "night_holds": board.night_holds,
        "stages": [{"stage": stage, "label": code_label("stage", stage, locale), "count": count}
                   for stage, count in board.open_by_stage],
        "overdue_list": [_line(line, board.day, zone) for line in board.overdue_list],
        "soon_due_list": [_line(line, board.day, zone) for line in board.soon_due_list],
        "night_hold_list": [_line(line, board.day, zone) for line in board.night_hold_list],
        "chased_list": [_line(line, board.day, zone) for line in board.chased_list],
        "agents": [{"name": person.name, "recorded": person.recorded, "tasks_done": person.tasks_done}
                   for person in board.agents],
        "empty": _("None"),
    }


def _line(line: figures.TicketLine, today: Any, zone: ZoneInfo) -> dict[str, Any]:
    locale = select_locale()
    return {"number": line.number, "url": url_for("console.ticket_page", number=line.number),
            "place": f"{project_name(line.project_key)} {line.unit_code}",
            "category": code_label("category", line.category, locale), "stage": code_label("stage", line.stage, locale),
            "due": _moment(line.due_at, today, zone), "received": _moment(line.received_at, today, zone),
            "chases": line.chases}


def _moment(moment: datetime | None, today: Any, zone: ZoneInfo) -> str:
    """HH:MM today, MM-DD HH:MM on another day: short enough to read across a room."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone)
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")
