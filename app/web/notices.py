"""How a notification reads, in the reader's language (stored as a kind and parameters)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask_babel import format_datetime
from flask_babel import gettext as _

from app.services.jobs.notifications import Notification
from app.web.i18n import select_locale
from app.web.labels import code_label


def notice_text(notification: Notification) -> tuple[str, str]:
    """(title, body) of a notice for the current reader."""
    params: dict[str, Any] = notification.params or {}
    number = params.get("number", "")
    due = _when(params.get("due_at"))
    if notification.kind == "due_soon":
        return (_("Due soon: %(number)s", number=number),
                _("%(category)s ticket %(number)s is due by %(due)s.", category=_category(params), number=number,
                  due=due))
    if notification.kind == "chased":
        return (_("Chased: %(number)s", number=number),
                _("%(category)s ticket %(number)s (%(unit)s) was chased by the caller (time %(count)s): deal with it "
                  "now.", category=_category(params), number=number, unit=params.get("unit", ""),
                  count=params.get("count")))
    if notification.kind == "escalated" and params.get("chases"):
        return (_("Escalated to level %(level)s: %(number)s", level=params.get("level"), number=number),
                _("%(category)s ticket %(number)s was chased %(count)s times and is still open.",
                  category=_category(params), number=number, count=params.get("chases")))
    if notification.kind == "escalated":
        return (_("Escalated to level %(level)s: %(number)s", level=params.get("level"), number=number),
                _("%(category)s ticket %(number)s passed its time limit (%(due)s) and is still open.",
                  category=_category(params), number=number, due=due))
    if notification.kind == "warranty_unknown":
        return (_("No handover date: %(number)s", number=number),
                _("%(unit)s has no handover date, so the warranty of repair %(number)s could not be judged: it is "
                  "treated as outside the warranty. Record the handover date of the place.",
                  unit=params.get("unit", ""), number=number))
    if notification.kind == "weekly_report":
        return (_("Weekly report of open tickets"),
                _("%(count)s tickets are still open.", count=params.get("open_tickets", params.get("count", "?"))))
    if notification.kind == "night_emergency":
        return (_("Night emergency: %(number)s", number=number),
                _("%(unit)s: %(description)s (caller %(phone)s). Act at once.", unit=params.get("unit", ""),
                  description=params.get("description", ""), phone=params.get("phone", "")))
    if notification.kind == "phone_owner":
        return (_("Phone the owner: %(number)s", number=number),
                _("The owner's number takes no texts. Tell them: %(message)s", message=params.get("message", "")))
    if notification.kind == "notice":
        return (_("Notice to owners: %(title)s", title=params.get("title", "")),
                _("A notice to the owners of %(project)s was sent: owners may call about it.",
                  project=params.get("project", "")))
    return notification.kind, ""


def _category(params: dict[str, Any]) -> str:
    return code_label("category", params.get("category"), select_locale()) if params.get("category") else ""


def _when(value: Any) -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(str(value))
    return cast(str, format_datetime(moment, "yyyy-MM-dd HH:mm"))  # flask_babel has no type hints
