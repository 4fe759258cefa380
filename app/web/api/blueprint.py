"""The /api/v1 blueprint and its authentication: a bearer token on every call but the public ones."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request
from flask_login import current_user

from app.extensions import csrf
from app.services.errors import InvalidRequestError, NotFoundError, UnauthorizedError
from app.services.people.auth import Principal, user_for_token
from app.services.runtime import Runtime

api = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.health", "api.openapi_document"}


@api.before_request
def authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization")
    if header is None and current_user.is_authenticated:
        # The browser session works too; then every change needs the page's CSRF token.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
        g.user = current_user.principal
    else:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("需要登录 / missing bearer token")
        g.user = user_for_token(token.strip())
    if any("\x00" in str(value) for value in (request.view_args or {}).values()):
        raise NotFoundError("not found")  # no id holds a NUL byte, and PostgreSQL refuses to compare one


def acting_user() -> Principal:
    return g.user


def runtime() -> Runtime:
    return current_app.extensions["kefu"]


def json_data_body(*, required: bool) -> Any:
    """The ``data`` of a ``{"data": {...}}`` body; 400 for malformed JSON or other keys."""
    if not request.content_length and not request.data:
        if required:
            raise InvalidRequestError("请求体缺失 / a JSON body is required", errors={"body": "required"})
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequestError("请求体必须是 JSON 对象 / the body must be a JSON object",
                                  errors={"body": "must be a JSON object"})
    unknown = [key for key in body if key != "data"]
    if unknown:
        raise InvalidRequestError("请求体只接受 data / only the key 'data' is accepted",
                                  errors={key: "unknown key" for key in unknown})
    return body.get("data", {})
