"""Who asks and with what: the runtime of this app, the signed-in principal, and the guard on a page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g
from flask_login import current_user, login_required

from app.services.people.auth import Principal
from app.services.people.organisation import projects_for
from app.services.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


def runtime() -> Runtime:
    """The services' runtime (clock, time zone, calendar, engine) the app was built with."""
    rt: Runtime = current_app.extensions["kefu"]
    return rt


def me() -> Principal:
    """The signed-in person of a console page (the API has its own: ``api.blueprint.acting_user``)."""
    principal: Principal = current_user.principal
    return principal


def signed_in() -> bool:
    return bool(current_user.is_authenticated)


def require(rule: Callable[[Principal], bool]) -> Callable[[F], F]:
    """Log-in required, then ``rule`` (one of ``services.access``) must allow the user (a 403 page otherwise)."""
    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not rule(me()):
                abort(403)
            return view(*args, **kwargs)
        return guarded  # type: ignore[return-value]
    return decorate


def project_name(key: str | None) -> str:
    """A project as staff call it (兰亭苑), not its key; the key when it is not one of my projects."""
    if "project_names" not in g:
        g.project_names = {p.key: p.name for p in projects_for(me())} if signed_in() else {}
    names: dict[str, str] = g.project_names
    return names.get(key or "", key or "—")
