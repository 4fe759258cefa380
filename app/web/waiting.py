"""What a ticket waits for, as the reader reads it: the stored wait in words (their language) and its time.

Shared by the console's ticket page and inbox, the admin's instance list and page, and the JSON API.
"""

from __future__ import annotations

from typing import Any

from app.services.work.waiting import Wait, describe_wait, wait_of
from app.web.context import runtime
from app.web.i18n import say


def wait_words(item: Any, locale: str | None = None) -> str:
    """"等待早班 12-04 08:00 派单", "暂停：等待配件（已 2 天）"…: a ``Wait``, or a ticket row's stored wait, in the
    reader's language (``locale``: the page's, looked up once for all its rows); empty when nothing is awaited."""
    wait = item if isinstance(item, Wait) or item is None else wait_of(item)
    rt = runtime()
    text = describe_wait(wait, now=rt.clock.now(), timezone=rt.timezone)
    return say(text, locale) if text is not None else ""


def waiting_json(ticket: Any) -> dict[str, Any]:
    """The API's fields: ``waiting_for`` in words, ``waiting_kind`` as a code, ``until`` (ISO 8601), chases."""
    return {"waiting_for": wait_words(ticket) or None, "waiting_kind": ticket.waiting_for,
            "until": ticket.waiting_until.isoformat() if ticket.waiting_until else None,
            "chase_count": ticket.chase_count}
