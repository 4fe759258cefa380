"""What every page's template may call: markdown, business time, labels, and which menus the user sees.

The console's route table registers these app-wide (``console.blueprint``); the rights come from
``services.access`` and reach the templates as booleans.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from weakref import WeakKeyDictionary

from flask import Flask, current_app
from flask_babel import format_datetime, get_timezone
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from app.services.access import may_deploy, may_manage
from app.services.errors import ForbiddenError, NotFoundError
from app.services.jobs.notifications import unread_count
from app.services.work import tickets as ticket_service
from app.services.work.inbox import mask_phone
from app.services.work.instances import start_form_for
from app.web.context import me, project_name, runtime, signed_in
from app.web.i18n import bilingual, select_locale
from app.web.labels import code_label, flow_label, person_name, role_label, source_label
from app.web.waiting import wait_words

_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # raw HTML in instructions is shown as text


def render_markdown(text: str | None) -> Markup:
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704 - markdown-it escapes everything with html off


def template_helpers() -> dict[str, Any]:
    locale = select_locale()  # once per page: the helpers below run for every row of a list
    return {"bilingual": lambda text: bilingual(text, locale), "mask_phone": mask_phone,
            "locale": locale, "format_datetime": business_time, "may_record_calls": may_record_calls,
            "label": lambda kind, code: code_label(kind, code, locale),
            "may_open_admin": may_open_admin, "may_design": may_design, "project_name": project_name,
            "unread_notifications": unread_notifications, "person_name": person_name,
            "wait_words": lambda item: wait_words(item, locale),
            "role_label": lambda key: role_label(key, locale),
            "source_label": lambda source: source_label(source, locale),
            "flow_label": lambda process_id: flow_label(process_id, locale)}


def unread_notifications() -> int:
    """The bell's count: read with the session's user (``Principal.unread_notifications``), else asked now."""
    if not signed_in():
        return 0
    user = me()
    return user.unread_notifications if user.unread_notifications is not None else unread_count(user.id)


CONSOLE_DATETIME = "yyyy-MM-dd HH:mm"  # one way to write a moment everywhere: forms, lists, instructions


def business_time(value: datetime | None, format: str = "short") -> str:
    """A moment in the business time zone; "short" (what the templates ask for) reads 2026-03-02 09:00 in both
    languages, like form values and task instructions."""
    if value is None:
        return ""
    if format == "short" and isinstance(value, datetime):  # CONSOLE_DATETIME without babel's ~20 µs a call (lists)
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(get_timezone())
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d}"
    return cast(str, format_datetime(value, CONSOLE_DATETIME if format == "short" else format))  # babel: untyped


def may_open_admin() -> bool:
    return signed_in() and may_manage(me())


def may_design() -> bool:
    return signed_in() and may_deploy(me())


# Per app: the bundles' stamp, and for each set of roles whether it may start the latest reception then.
_RECEPTION_RIGHTS: WeakKeyDictionary[Flask, tuple[tuple[int, int], dict[frozenset[str], bool]]] = WeakKeyDictionary()


def may_record_calls() -> bool:
    """Whether the menu offers "New ticket": only to people who may start a reception (no 403 behind a link).

    Every page's menu asks: the answer for the user's roles is kept until a bundle is deployed (the session's
    principal carries the bundles' stamp, read in its one query), so most pages ask the database nothing.
    """
    if not signed_in():
        return False
    user, app = me(), current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's proxy
    stamp = user.bundles_stamp
    known = _RECEPTION_RIGHTS.get(app)
    if stamp is not None and known is not None and known[0] == stamp and user.role_keys in known[1]:
        return known[1][user.role_keys]
    try:
        start_form_for(runtime(), ticket_service.RECEPTION, user=user)
        allowed = True
    except (ForbiddenError, NotFoundError):
        allowed = False
    except SQLAlchemyError:  # an error page must render without the link
        return False
    if stamp is not None:
        rights = known[1] if known is not None and known[0] == stamp else {}
        rights[user.role_keys] = allowed
        _RECEPTION_RIGHTS[app] = (stamp, rights)
    return allowed
