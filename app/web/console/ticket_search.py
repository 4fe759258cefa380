"""The header's ticket search: every staff member, within their projects (services/work/ticket_search.py)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import login_required

from app.services.work import ticket_search
from app.services.work.inbox import shown_phone
from app.web.context import me, runtime


@login_required
def search_tickets() -> Any:
    """One page of results; ``cursor`` is where the page starts (the previous page's ``next``)."""
    query = request.args.get("q", "")
    page = ticket_search.search_tickets(query, user=me(),
                                        offset=ticket_search.parse_offset(request.args.get("cursor")))
    full = ticket_search.phones_in_full(page.items, user=me(), source="ticket_search", now=runtime().clock.now())
    phones = [shown_phone(found.ticket.phone, full=found.ticket.id in full) for found in page.items]
    previous = max(page.offset - ticket_search.PAGE_SIZE, 0) if page.offset else None
    return render_template("ticket_search.html", page=page, rows=list(zip(page.items, phones, strict=True)),
                           previous=previous, now=runtime().clock.now())

