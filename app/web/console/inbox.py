"""The inbox: my tasks or my groups' tasks, filtered and paged."""

from __future__ import annotations

from urllib.parse import quote_plus

from flask import render_template, request
from flask_login import login_required

from app.services.work.inbox import INBOX_PAGE, InboxRow, inbox, inbox_counts
from app.web.context import me, runtime
from app.web.labels import CODE_LABELS, FLOW_LABELS


@login_required
def home() -> str:
    scope = request.args.get("scope", "mine")
    scope = scope if scope in ("mine", "group") else "mine"
    filters = {name: request.args.get(name, "").strip() or None for name in ("category", "process_id", "search")}
    page = request.args.get("page", "1")
    page_number = min(int(page), 10_000) if page.isdigit() and int(page) > 0 else 1
    rows = inbox(user=me(), scope=scope, page=page_number, category=filters["category"],
                 process_id=filters["process_id"], search=filters["search"], rt=runtime())
    return render_template("inbox.html", scope=scope, rows=rows[:INBOX_PAGE], page=page_number,
                           more=len(rows) > INBOX_PAGE, filters=filters, categories=CODE_LABELS["category"].items(),
                           flows=INBOX_FLOWS, counts=inbox_counts(me()), now=runtime().clock.now(),
                           navigate=map_search_url)


MAP_SEARCH = "https://uri.amap.com/search"  # AMap's web link: opens the AMap app on a phone, else its web map


def map_search_url(row: InboxRow) -> str:
    """Tap-to-navigate: a map search for the unit's estate and building (city, project name, unit)."""
    place = " ".join(part for part in (row.city, row.project_name, row.unit) if part)
    return f"{MAP_SEARCH}?keyword={quote_plus(place)}&src=kefu&callnative=1"  # what urlencode writes, per row cheaper


INBOX_FLOWS = tuple((key, FLOW_LABELS[key]) for key in ("reception", "complaint", "repair", "callback"))
