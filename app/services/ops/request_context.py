"""The id of the request a service runs for, set by the web layer and read by the step writer.

A contextvar rather than an argument: the id only labels the audit rows a step writes, so threading
it through every use case would change every signature for a log label. Outside a request (CLI,
worker) it is ``None`` and nothing is added.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

REQUEST_ID_KEY = "request_id"  # the key of an audit event's data that holds it

_request_id: ContextVar[str | None] = ContextVar("kefu_request_id", default=None)


def set_request_id(request_id: str | None) -> Token[str | None]:
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


def with_request_id(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An audit event's data with the current request id added (unchanged outside a request)."""
    request_id = _request_id.get()
    if request_id is None:
        return dict(data) if data is not None else None
    return {**(data or {}), REQUEST_ID_KEY: request_id}


def without_request_id(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """An audit event's data as people read it: the request id is for operators (logs), not a field."""
    if not data or REQUEST_ID_KEY not in data:
        return data
    return {name: value for name, value in data.items() if name != REQUEST_ID_KEY}
