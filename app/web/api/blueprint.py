"""The /api/v1 blueprint and its authentication: a bearer token on every call but the public ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast

from flask import Blueprint, g, request
from flask_babel import gettext
from flask_login import current_user

from app.extensions import csrf
from app.services.errors import ForbiddenError, InvalidRequestError, NotFoundError, UnauthorizedError, msg
from app.services.people.auth import Principal, user_for_token
from app.services.work.forms import parse_json_body

api = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.health", "api.ready", "api.openapi_document"}


@api.before_request
def authenticate() -> None:
    current = request._get_current_object()  # type: ignore[attr-defined]  # every API call: one context lookup
    if current.endpoint in PUBLIC_ENDPOINTS:
        return
    header = current.headers.get("Authorization")
    if header is None and current_user.is_authenticated:
        # The browser session works too; then every change needs the page's CSRF token.
        if current.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
        g.user = current_user.principal
    else:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError(gettext("Sign in: the bearer token is missing."))
        g.user = user_for_token(token.strip())
    if current.view_args and any("\x00" in str(value) for value in current.view_args.values()):
        raise NotFoundError("not found")  # no id holds a NUL byte, and PostgreSQL refuses to compare one


def acting_user() -> Principal:
    return cast(Principal, g.user)


def allowed_user(rule: Callable[[Principal], bool]) -> Principal:
    """The acting user when ``rule`` (one of ``services.access``) allows them, as the console's ``require``
    guards the same page; raise Forbidden otherwise."""
    user = acting_user()
    if not rule(user):
        raise ForbiddenError(msg("your role may not do this"))
    return user


def page_limit() -> int:
    """A list's ``?limit=`` (default 50): one rule for every list; 400 naming it when it is not 1 to 200."""
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise InvalidRequestError("limit must be 1 to 200", errors={"limit": "must be an integer from 1 to 200"})
    return int(raw)


def page_start() -> int:
    """Where a list's page starts: its ``?cursor=`` (the ``next`` of the page before), 0 without one; 400 naming
    it when it is not a number."""
    raw = request.args.get("cursor", "")
    if raw and (not raw.isdigit() or len(raw) > 9):  # no page starts a billion rows in
        raise InvalidRequestError(msg("invalid cursor"), errors={"cursor": "invalid"})
    return int(raw or 0)


def next_cursor(read: int, *, limit: int, start: int) -> str | None:
    """The ``next`` of a page read as ``limit + 1`` rows from ``start``: where the next page starts when there
    is one (``read`` > ``limit``), else None."""
    return str(start + limit) if read > limit else None


def text_field(data: dict[str, Any], name: str) -> str:
    """A body's text field; "" when it is missing or not text (the service then names it as missing)."""
    value = data.get(name)
    return value if isinstance(value, str) else ""


def query_day(name: str) -> date | None:
    """A ``?name=2026-03-02`` query parameter; None when absent; 400 naming it when it is not such a date."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequestError(msg("check the query"), errors={name: msg("a date such as 2026-03-02")}) from None


def json_data_body(*, required: bool) -> Any:
    """The ``data`` of a ``{"data": {...}}`` body; 400 for malformed JSON or other keys."""
    if not request.content_length and not request.data:
        if required:
            raise InvalidRequestError(gettext("A JSON body is required."), errors={"body": "required"})
        return {}
    body = parse_json_body(request.get_data()) if request.is_json else None  # 422 when nested too deep
    if not isinstance(body, dict):
        raise InvalidRequestError(gettext("The body must be a JSON object."),
                                  errors={"body": "must be a JSON object"})
    unknown = [key for key in body if key != "data"]
    if unknown:
        raise InvalidRequestError(gettext("Only the key 'data' is accepted."),
                                  errors={key: "unknown key" for key in unknown})
    return body.get("data", {})
