"""The personal-data access log (PIPL): who saw a full phone number or exported tickets, searchable."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template, request

from app.services.access import may_administer
from app.services.people.access_log import ACTIONS, AccessQuery, search_access_log
from app.web.context import require, runtime


@require(may_administer)
def access_log() -> Any:
    errors: dict[str, str] = {}
    zone = ZoneInfo(runtime().timezone)
    bounds = {}
    for name in ("since", "until"):
        raw = request.args.get(name, "").strip()
        try:
            day = datetime.fromisoformat(raw).date() if raw else None
        except ValueError:
            errors[name] = "YYYY-MM-DD"
            day = None
        if day is not None:
            day += timedelta(days=1) if name == "until" else timedelta()
            bounds[name] = datetime.combine(day, time(), zone).astimezone(UTC)
    before = request.args.get("before", "")
    action = request.args.get("action", "").strip()
    query = AccessQuery(username=request.args.get("username", "").strip() or None,
                        ticket_number=request.args.get("ticket", "").strip() or None,
                        action=action if action in ACTIONS else None,
                        before_id=int(before) if before.isdigit() else None,
                        **bounds)
    page = search_access_log(query)
    args = {key: value for key, value in request.args.items() if key != "before" and value}
    return render_template("admin/access_log.html", page=page, args=args, actions=ACTIONS,
                           errors=errors), 400 if errors else 200
