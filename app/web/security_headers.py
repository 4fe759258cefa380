"""The security headers of every response, set in one place (``app.after_request``).

A strict Content-Security-Policy: scripts only from the app's own files (the templates have no inline
script or handler; data for scripts travels as ``<script type="application/json">``), no plugins, no
framing, forms posted only here. Images may also be ``data:`` (Bootstrap's form icons, a drawn signature).
The pages that draw diagrams with bpmn-js or dmn-js also allow inline styles: those libraries style the
SVG they draw with ``style`` attributes. A route that sets its own, stricter policy keeps it (the
designer's BPMN file served as data: ``default-src 'none'; sandbox``).
"""

from __future__ import annotations

from flask import Flask, Request, Response, current_app, request

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
                           "form-action 'self'")
DIAGRAM_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# Where bpmn-js or dmn-js draws: the designer, and the admin's instance and definition pages.
DIAGRAM_BLUEPRINTS = frozenset({"designer"})
DIAGRAM_ENDPOINTS = frozenset({"admin.instance", "admin.change_status", "admin.reassign", "admin.edit_data",
                               "admin.definition"})
HSTS = "max-age=31536000; includeSubDomains"
FIXED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def register(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Add the headers a response has not set itself (a stricter per-route policy wins)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}  # one pass: each setdefault would scan the headers twice
    current = request._get_current_object()  # type: ignore[attr-defined]  # one context lookup, not four
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", _policy(current))
    for name, value in FIXED_HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    if "strict-transport-security" not in present and (
            current.is_secure or current_app.config.get("SESSION_COOKIE_SECURE")):
        headers.add("Strict-Transport-Security", HSTS)
    return response


def _policy(current: Request) -> str:
    draws_diagrams = current.blueprint in DIAGRAM_BLUEPRINTS or current.endpoint in DIAGRAM_ENDPOINTS
    return DIAGRAM_POLICY if draws_diagrams else CONTENT_SECURITY_POLICY
