"""Who the owner of an /owner page is: their own session (not the staff's Flask-Login), and the page guard.

The session is a random token in the ``kefu_owner`` cookie, sent only on /owner paths; the service keeps
its hash (``owner_sessions``), so logging out ends it for good.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from app.services.owners.consent import has_consented
from app.services.owners.identity import OwnerPrincipal
from app.services.owners.signin import owner_of_session
from app.web.context import runtime

F = TypeVar("F", bound=Callable[..., Any])
COOKIE = "kefu_owner"
COOKIE_PATH = "/owner"
CACHE_KEY = "kefu.owner"


def session_token() -> str | None:
    return request.cookies.get(COOKIE)


def current_owner() -> OwnerPrincipal | None:
    """The owner signed in on this browser, or None (looked up once per request: kept in the request's
    environ, as ``g`` outlives a request when an app context is already pushed)."""
    if CACHE_KEY not in request.environ:
        max_age = timedelta(days=int(current_app.config["OWNER_SESSION_DAYS"]))
        request.environ[CACHE_KEY] = owner_of_session(session_token(), now=runtime().clock.now(), max_age=max_age)
    owner: OwnerPrincipal | None = request.environ[CACHE_KEY]
    return owner


def the_owner() -> OwnerPrincipal:
    """The signed-in owner of a page behind ``owner_required``."""
    owner = current_owner()
    assert owner is not None, "the page is behind owner_required"
    return owner


def owner_required(view: F) -> F:
    """Signed in (else the sign-in page, coming back here), and the privacy notice agreed to (else the notice)."""
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        owner = current_owner()
        if owner is None:
            return redirect(url_for("owner.sign_in", next=request.full_path))
        if not has_consented(owner.phone):
            return redirect(url_for("owner.privacy", next=request.full_path))
        return view(*args, **kwargs)
    return guarded  # type: ignore[return-value]


def set_session_cookie(response: Response, token: str) -> Response:
    days = int(current_app.config["OWNER_SESSION_DAYS"])
    response.set_cookie(COOKIE, token, max_age=days * 24 * 3600, path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def clear_session_cookie(response: Response) -> Response:
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
