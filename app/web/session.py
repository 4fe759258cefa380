"""The browser session's user, for Flask-Login: a thin wrapper around the service layer's Principal.

The session's id is ``<user id>:<session version>``: logout and password changes raise the version,
so a cookie captured before them names a version that no longer exists. A session unused for longer
than the ``session_idle_minutes`` setting ends too (the runtime's clock, so tests can move it).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import UserMixin
from itsdangerous import URLSafeTimedSerializer

from app.services.people.auth import Principal, principal_for_user
from app.services.settings import get_setting

LAST_SEEN = "_kefu_seen"  # POSIX seconds of the session's last request


class SessionUser(UserMixin):
    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def get_id(self) -> str:
        return f"{self.principal.id}:{self.principal.session_version}"


def load_session_user(session_id: str) -> SessionUser | None:
    """The user of a session that is current (its version) and was used recently, or None. The user is read before
    the idle limit, a setting: the user's query tells the settings whether they are fresh (no read of their own)."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    principal = principal_for_user(int(user_id))
    if principal is None or principal.session_version != int(version) or _is_idle():
        return None
    mark_seen()
    return SessionUser(principal)


SEEN_EVERY_SECONDS = 60  # the idle limit is set in minutes


def mark_seen() -> None:
    """Record the session's activity, at most once a minute. Rewriting the cookie on every request made each
    answer carry the session as it was when its request began, so a slow background request (the new-ticket
    form's duplicate lookup) that ended after a form's redirect put back the session without the redirect's
    message ("已登记 …"): seen as a lost message under load."""
    now = int(current_app.extensions["kefu"].clock.now().timestamp())
    seen = session.get(LAST_SEEN)
    if not isinstance(seen, int) or not 0 <= now - seen < SEEN_EVERY_SECONDS:
        session[LAST_SEEN] = now


def _is_idle() -> bool:
    seen = session.get(LAST_SEEN)
    if not isinstance(seen, int):
        return True
    now: float = current_app.extensions["kefu"].clock.now().timestamp()
    return now - seen > int(get_setting("session_idle_minutes")) * 60


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session, less its fixed cost on requests without one (a bearer-token API call).

    Flask builds the signing serializer anew for every request that opens a session (each request does, cookie
    or not); it is built once here per set of keys. And a request with an empty, unchanged session (no cookie to
    set or delete) ends with only the ``Vary: Cookie`` Flask's own adds when the session was looked at.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            assert serializer is not None  # there is a secret key
            if len(self._serializers) > 8:  # keys rotated (or many test apps): keep the newest only
                self._serializers.clear()
            self._serializers[keys] = serializer
        return serializer

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if session or session.modified:
            super().save_session(app, session, response)
        elif session.accessed:  # Flask-Login looks at every request's session: the answer varies with the cookie
            if "Vary" in response.headers:
                response.vary.add("Cookie")
            else:
                response.headers["Vary"] = "Cookie"
