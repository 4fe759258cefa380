"""The bell's page: my notifications, newest first; open one (marks it read) or mark all read."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from app.services.jobs.notifications import mark_read, notifications_of
from app.web.context import me, runtime
from app.web.notices import notice_text


@login_required
def notifications() -> str:
    items = [(n, *notice_text(n)) for n in notifications_of(me().id, limit=100)]
    return render_template("notifications.html", items=items)


@login_required
def open_notification(notification_id: int) -> Response:
    """Mark it read and go where it points (only to a path of this site)."""
    mark_read(me().id, now=runtime().clock.now(), notification_id=notification_id)
    target = request.form.get("link") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for(".notifications"))


@login_required
def read_all() -> Response:
    mark_read(me().id, now=runtime().clock.now())
    return redirect(url_for(".notifications"))
