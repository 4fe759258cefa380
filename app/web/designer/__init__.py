"""The process designer: edit, check and deploy diagrams, decision tables and forms (designer role).

Every route is for the designer roles (``access.DESIGNER_ROLES``) only. The editor pages talk to
JSON endpoints (drafts, checks, deploy) with the session's CSRF token in ``X-CSRFToken``; the
pages and the endpoints live in ``editor.py`` and ``versions.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, jsonify, render_template
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.engine import Problem
from app.extensions import db
from app.services.access import may_deploy
from app.services.definitions import drafts as workspace
from app.services.definitions import versions as history
from app.services.errors import InvalidDefinitionError, ServiceError
from app.services.people.auth import Principal
from app.services.runtime import Runtime
from app.web.designer.problems import problem_json
from app.web.errors import error_body, status_of
from app.web.i18n import bilingual, select_locale

designer = Blueprint("designer", __name__, url_prefix="/designer")

F = TypeVar("F", bound=Callable[..., Any])


def designers_only(view: F) -> F:
    """Log-in required, then a designer role (a Chinese 403 page otherwise)."""
    @wraps(view)
    @login_required
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not may_deploy(current_user.principal):
            abort(403)
        return view(*args, **kwargs)
    return guarded  # type: ignore[return-value]


def as_json(view: F) -> F:
    """A JSON endpoint of the editor pages: domain errors become {"code", "message", "errors", "problems"}."""
    @wraps(view)
    def answer(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ServiceError as error:
            db.session.rollback()  # nothing half-done survives a refused request
            body = error_body(error.code, bilingual(error.message, select_locale()), error.errors)
            if isinstance(error, InvalidDefinitionError):
                body["problems"] = shown(error.details.get("problems", []))
            return jsonify(body), status_of(error)
    return answer  # type: ignore[return-value]


def runtime() -> Runtime:
    return current_app.extensions["kefu"]


def me() -> Principal:
    return current_user.principal


@designer.get("/")
@designers_only
def home() -> str:
    return render_template("designer/home.html", files=workspace.list_files(), processes=history.processes(),
                           problems=shown(workspace.review_drafts()))


def shown(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """Problems as the editor pages show them, in the user's language."""
    return [problem_json(problem, select_locale()) for problem in problems]


def json_response(payload: dict[str, Any], status: int = 200) -> tuple[Response, int]:
    return jsonify(payload), status


from app.web.designer import editor, versions  # noqa: E402, F401  (registers the routes)
