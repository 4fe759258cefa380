"""The bell: a person's notifications, the unread count, marking them read."""

from __future__ import annotations

from typing import Any

from app.services.jobs.notifications import Notification, mark_read, notifications_of, unread_count
from app.web.api.blueprint import acting_user, api
from app.web.context import runtime
from app.web.notices import notice_text


def serialize_notification(notification: Notification) -> dict[str, Any]:
    title, body = notice_text(notification)
    return {"id": notification.id, "kind": notification.kind, "title": title, "body": body,
            "link": notification.link, "params": notification.params, "ticket_id": notification.ticket_id,
            "created_at": notification.created_at.isoformat(),
            "read_at": notification.read_at.isoformat() if notification.read_at else None}


@api.get("/notifications")
def list_notifications() -> dict[str, Any]:
    user = acting_user()
    return {"unread": unread_count(user.id),
            "items": [serialize_notification(n) for n in notifications_of(user.id)]}


@api.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int) -> dict[str, Any]:
    user = acting_user()
    mark_read(user.id, now=runtime().clock.now(), notification_id=notification_id)
    return {"unread": unread_count(user.id)}


@api.post("/notifications/read")
def read_all_notifications() -> dict[str, Any]:
    user = acting_user()
    mark_read(user.id, now=runtime().clock.now())
    return {"unread": unread_count(user.id)}
