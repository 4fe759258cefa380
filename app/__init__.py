"""Kefu BPM: the application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.clock import Clock, SystemClock
from app.config import DEVELOPMENT_ENVS, PROJECT_ROOT, load_config
from app.logging_setup import configure_logging


def create_app(config: dict[str, Any] | None = None, *, clock: Clock | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(config))
    configure_logging(json_lines=app.config["KEFU_ENV"] not in DEVELOPMENT_ENVS)
    trust_proxies(app)
    init_extensions(app)
    init_runtime(app, clock or SystemClock())
    register_step_hooks()
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_observability(app)
    register_commands(app)
    return app


def settle_process(app: Flask, *, pages: bool = True) -> None:
    """Ready a server process before its first request (gunicorn's ``post_worker_init``, ``flask worker``).

    Loads the newest version of every process (its spec and facts) and, with ``pages``, compiles every page
    template, so the first requests do not pay for it. Then freezes the garbage collector's view of what is
    alive: the app holds ~190,000 long-lived objects (specs, SQLAlchemy, catalogs), and a full collection
    walks them all while holding the GIL; measured: 137 ms, during which every thread of the worker waits
    (the p99 of a task submit over HTTP was such a pause). Frozen objects are never walked again; what
    requests allocate is collected as before. A database that cannot be read yet (before ``flask setup``)
    only skips the loading.
    """
    import gc
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from app.extensions import db
    from app.services.ops.warm_up import load_newest_bundles

    with app.app_context():
        try:
            load_newest_bundles(app.extensions["kefu"])
        except SQLAlchemyError as exc:
            logging.getLogger(__name__).warning("no process loaded before the first request: %s", exc)
        finally:
            db.session.remove()
    if pages:
        for name in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
            app.jinja_env.get_template(name)
    gc.collect()
    gc.freeze()


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client's address and scheme are the forwarded ones."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def init_extensions(app: Flask) -> None:
    from sqlalchemy import event

    from app.database import configure_database, end_session, note_transaction_connection
    from app.extensions import db, migrate

    db.init_app(app)
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"

    def end_request_session(_exc: BaseException | None) -> None:
        if db.session.registry.has():
            end_session(db.session())  # a transaction that only read commits (app/database.py)
        db.session.remove()

    # One session per request, even when an app context outlives requests (tests, CLI): writes go
    # through Core statements, so a session kept across requests would read stale objects.
    if postgresql:
        if not event.contains(db.session, "after_begin", note_transaction_connection):
            event.listen(db.session, "after_begin", note_transaction_connection)
        app.teardown_request(end_request_session)
    else:
        app.teardown_request(lambda _exc: db.session.remove())
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    init_web_extensions(app)
    with app.app_context():
        configure_database(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])


def init_web_extensions(app: Flask) -> None:
    from app.extensions import babel, csrf, limiter, login_manager
    from app.web.i18n import select_locale
    from app.web.session import SessionCookies, load_session_user

    app.session_interface = SessionCookies()
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    login_manager.user_loader(load_session_user)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone=app.config["TIMEZONE"])


def init_runtime(app: Flask, clock: Clock) -> None:
    from app.services.runtime import build_runtime

    app.extensions["kefu"] = build_runtime(clock, app.config["TIMEZONE"], office_hours=app.config["OFFICE_HOURS"],
                                           lunch_break=app.config["OFFICE_LUNCH_BREAK"],
                                           forms_dir=app.config["FORMS_DIR"])


def register_step_hooks() -> None:
    """Load the modules that register what a completed task means to their process (services/work/after_step.py)."""
    import app.services.handover.defects
    import app.services.outreach.notices
    import app.services.outreach.planned_callbacks  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from app.extensions import csrf, limit_decorated_views_only
    from app.web.admin import admin
    from app.web.api import api
    from app.web.console import console
    from app.web.converters import RowIntConverter
    from app.web.designer import designer
    from app.web.owner import owner

    app.url_map.converters["int"] = RowIntConverter  # before any rule is bound: every <int:…> is bounded

    csrf.exempt(api)  # bearer-token calls carry no CSRF token; session calls are checked in the API itself
    app.register_blueprint(api)
    app.register_blueprint(console)
    app.register_blueprint(admin)
    app.register_blueprint(designer)
    app.register_blueprint(owner)
    limit_decorated_views_only(app)  # the sign-in views' limits are all there are: no app-wide check


def register_error_handlers(app: Flask) -> None:
    from app.web.errors import register

    register(app)


def register_security_headers(app: Flask) -> None:
    from app.web.security_headers import register

    register(app)


def register_observability(app: Flask) -> None:
    from app.web.observability import register

    register(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
