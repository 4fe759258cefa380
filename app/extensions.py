"""Extensions created bare here and bound to the app in the factory."""

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, TypeVar

from flask import Flask
from flask.globals import request_ctx
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

_T = TypeVar("_T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The models' base; ``db.Model`` is built from it, and the models subclass it directly so mypy sees them."""

    metadata = MetaData(naming_convention=NAMING)
    # Every model maps one table (never a join or a select), so Core statements take ``Model.__table__``.
    __table__: ClassVar[Table]


# Objects stay readable after commit: responses are built from them without reloading.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage from RATELIMIT_STORAGE_URI (config.py): memory in development and tests, Redis in production.
limiter = Limiter(key_func=get_remote_address)


def limit_decorated_views_only(app: Flask) -> None:
    """Flask-Limiter's work on the requests that meet a limit only (after ``limiter.init_app(app)``).

    Every limit here decorates a sign-in view (no default, application or blueprint limit), and a decorated view
    checks its own limits as it runs; the app-wide before_request check would only look, on every other request,
    for limits that do not exist (~65 µs a request). So that check goes, and the limiter's after_request hook
    (a refused sign-in's ``deduct_when``) and teardown run only for a request whose view consulted the limiter.
    A default, application or blueprint limit would need the app-wide check back: the app refuses to start then
    (called once the blueprints, and so their limits, are registered).
    """
    if limiter not in app.extensions.get("limiter", ()):  # RATELIMIT_ENABLED false: no hooks to narrow
        return
    limits = limiter.limit_manager
    if limits.default_limits or limits.application_limits or limits._blueprint_limits:
        raise RuntimeError("a default, application or blueprint rate limit needs Flask-Limiter's app-wide check")
    app.before_request_funcs[None] = [hook for hook in app.before_request_funcs.get(None, [])
                                      if not _is_limiters(hook)]
    for hooks in (app.after_request_funcs, app.teardown_request_funcs):
        hooks[None] = [_when_consulted(hook) if _is_limiters(hook) else hook for hook in hooks.get(None, [])]


def _is_limiters(hook: Callable[..., Any]) -> bool:
    """A hook Flask-Limiter registered: a method of the limiter, or a partial of one of its functions on it."""
    return getattr(hook, "__self__", None) is limiter or (isinstance(hook, partial) and hook.args[:1] == (limiter,))


def _when_consulted(hook: Callable[[_T], _T]) -> Callable[[_T], _T]:
    """The hook, run only when this request's view consulted the limiter (it keeps its state on the request)."""
    def run(value: _T) -> _T:
        if hasattr(request_ctx._get_current_object(), "_limiter_request_context"):  # type: ignore[attr-defined]
            return hook(value)
        return value

    return run
