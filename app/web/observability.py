"""Every request: its id (``X-Request-ID``), its latency by endpoint, one JSON access-log line; and ``/metrics``.

The request id comes from the client or the proxy when it is sane (letters, digits, ``-_.:``, at most
64), else it is made here; it is echoed in the response, written in the log line, and the step
writer puts it in the audit events a request's step writes (``services/ops/request_context``).

``/metrics`` answers a bearer ``METRICS_TOKEN`` when one is set (404 without the right one, so the
route is not advertised); without a token, only requests from a loopback address (403 otherwise).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import re
import time
from typing import Any
from uuid import uuid4

from flask import Flask, Response, abort, g, request

from app.services.ops.metrics import CONTENT_TYPE_LATEST, observe_request, scrape
from app.services.ops.request_context import reset_request_id, set_request_id

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
access_log = logging.getLogger("kefu.request")


def register(app: Flask) -> None:
    app.before_request(start_request)
    app.after_request(finish_request)
    app.teardown_request(lambda _exc: _forget_request_id())
    app.add_url_rule("/metrics", "metrics", metrics)


def request_id_from(header: str | None) -> str:
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid4().hex


# Each request's hooks read ``g`` and ``request`` once into locals: every read of a Flask proxy looks up the
# context again (these hooks are on every request's path; see bench/engine_overhead.py).
def start_request() -> None:
    app_globals = g._get_current_object()
    app_globals.request_started = time.perf_counter()
    app_globals.request_id = request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    app_globals.request_id_token = set_request_id(request_id)


def finish_request(response: Response) -> Response:
    app_globals = g._get_current_object()
    request_id = getattr(app_globals, "request_id", None)
    if request_id is None:  # a request that failed before start_request (e.g. an earlier before_request)
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    seconds = time.perf_counter() - app_globals.request_started
    current = request._get_current_object()  # type: ignore[attr-defined]
    endpoint = current.endpoint or "unmatched"  # the route's name, never the raw path (bounded labels)
    method, status = current.method, response.status_code
    observe_request(endpoint, method, status, seconds)
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("%s %s %s", method, endpoint, status,
                        extra={"request_id": request_id, "user_id": _user_id(app_globals), "route": endpoint,
                               "method": method, "status": status, "duration_ms": round(seconds * 1000, 2)})
    return response


def _user_id(app_globals: Any) -> int | None:
    """Who was acting, if the request already knew (never a query of its own)."""
    principal = app_globals.get("user") or getattr(getattr(app_globals, "_login_user", None), "principal", None)
    return getattr(principal, "id", None)


def _forget_request_id() -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        with contextlib.suppress(ValueError):  # torn down in another context: nothing left to undo
            reset_request_id(token)


def metrics() -> Response:
    token = os.environ.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(offered.encode(), token.encode()):
            abort(404)
    elif not _from_loopback():
        abort(403)
    return Response(scrape(), mimetype=CONTENT_TYPE_LATEST)


def _from_loopback() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
