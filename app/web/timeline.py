"""The audit trail as people read it: one line per step, each submitted value under its form label.

Used by the console's task and ticket pages and by the admin console's instance page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from app.services.work.inbox import TimelineEntry
from app.web.context import project_name, runtime
from app.web.form_fields import fields_for
from app.web.i18n import bilingual, select_locale
from app.web.labels import person_name

_ACTIONS = {
    "start": lazy_gettext("Started"), "complete": lazy_gettext("Completed"), "claim": lazy_gettext("Claimed"),
    "unclaim": lazy_gettext("Gave back"), "assign": lazy_gettext("Assigned"), "timer": lazy_gettext("Timer fired"),
    "error": lazy_gettext("Error"), "call_attached": lazy_gettext("Repeat call"),
    "escalated": lazy_gettext("Escalated"), "chased": lazy_gettext("Chased by the caller"),
    "dispatched_now": lazy_gettext("Dispatched now by the supervisor"),
    "called_back_now": lazy_gettext("Callback brought forward by the supervisor"),
    "pause_ended": lazy_gettext("Pause ended by the supervisor"),
    "incident": lazy_gettext("Incident"), "retried": lazy_gettext("Retried"),
    "ticket_opened": lazy_gettext("Ticket opened for an issue raised on the planned callback"),
    "night_emergency_alert": lazy_gettext("Night emergency alert (who was told, who was texted, who has no mobile)"),
    "owner_answer": lazy_gettext("The owner answered on the phone"),
    "owner_signature_asked": lazy_gettext("The owner was texted a link to sign"),
    "repairs_done": lazy_gettext("Every defect repaired: the owner re-inspects"),
    # the admin console's repairs
    "suspended": lazy_gettext("Suspended"), "resumed": lazy_gettext("Resumed"),
    "terminated": lazy_gettext("Terminated"), "reassigned": lazy_gettext("Reassigned"),
    "data_edited": lazy_gettext("Data changed"), "migrated": lazy_gettext("Migrated"),
}


# What the system's own events carry (a supervisor's reason, a chase's count), titled like form fields.
_DATA_TITLES = {"reason": "原因 / Reason", "count": "第几次催办 / Chase number", "texted": "短信通知人数 / Texted",
                "level": "级别 / Level", "chases": "催办次数 / Chases", "ticket": "工单 / Ticket"}


@dataclass(frozen=True)
class TimelineItem:
    label: str
    text: str
    upload: str | None  # the stored file's name, for a photo or a signature


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    actor: str | None
    action: str  # the audit action as stored: start, complete, timer, ...
    action_label: str
    task_title: str | None
    items: list[TimelineItem]


def timeline_lines(entries: list[TimelineEntry]) -> list[TimelineLine]:
    """The audit trail as people read it: which task, and each submitted value under its form label."""
    locale = select_locale()
    return [TimelineLine(entry.at, entry.actor, entry.action, str(_ACTIONS.get(entry.action, entry.action)),
                         bilingual(entry.task_title, locale) if entry.task_title else None,
                         _timeline_items(entry.data, entry.form, locale)) for entry in entries]


def _timeline_items(data: dict[str, Any] | None, schema: dict[str, Any] | None, locale: str) -> list[TimelineItem]:
    if not data:
        return []
    properties = (schema or {}).get("properties") or {}
    items = []
    for name, value in data.items():
        spec = properties.get(name) or {}
        if isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif isinstance(value, dict | list):
            text = str(value)
        elif name == "project" and isinstance(value, str):  # the intake's project is a key: say its name
            text = project_name(value)
        elif spec.get("x-widget") == "user" and isinstance(value, str):  # a person picked: by name, not login
            text = person_name(value)
        else:
            text = fields_for({"properties": {name: spec}}, {name: value}, {}, locale, runtime().timezone)[0].display
        upload = value[len("upload:"):] if isinstance(value, str) and value.startswith("upload:") else None
        items.append(TimelineItem(bilingual(spec.get("title") or _DATA_TITLES.get(name) or name, locale), text, upload))
    return items
