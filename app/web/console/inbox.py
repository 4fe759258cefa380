"""The inbox: my tasks or my groups' tasks, filtered and paged."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from app.services.work.inbox import INBOX_PAGE, inbox, inbox_counts
from app.web.context import me, runtime
from app.web.labels import CODE_LABELS


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
                           flows=INBOX_FLOWS, counts=inbox_counts(me()), now=runtime().clock.now())


INBOX_FLOWS = (("reception", "客户接待 / Reception"), ("complaint", "投诉处理 / Complaint"),
               ("repair", "维修工单 / Repair"), ("callback", "回访 / Callback"))
