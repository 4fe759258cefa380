"""The admin console: instances, repairs, definitions, dashboard, people and organisation, reports.

Pages for admins and managers. Every route is guarded by ``require_roles``; each area of the
console lives in its own module, imported at the bottom so its routes register on ``admin``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort
from flask_login import current_user, login_required

admin = Blueprint("admin", __name__, url_prefix="/admin")

ADMIN = frozenset({"admin"})
# Managers read the figures and follow instances; only admins repair.
MANAGERS = frozenset({"admin", "property_manager", "dept_head", "cs_supervisor"})

F = TypeVar("F", bound=Callable[..., Any])


def require_roles(roles: frozenset[str]) -> Callable[[F], F]:
    """Log-in required, then one of ``roles`` (a Chinese 403 page otherwise)."""
    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not (current_user.principal.role_keys & roles):
                abort(403)
            return view(*args, **kwargs)
        return guarded  # type: ignore[return-value]
    return decorate


from app.web.admin import modules  # noqa: E402, F401  (registers the routes)
