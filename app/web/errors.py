"""The one place domain errors become HTTP responses: {"code", "message", "errors"}."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services.definitions.drafts import Problem
from app.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidDefinitionError,
    InvalidFormError,
    InvalidRequestError,
    NotFoundError,
    ServiceError,
    UnauthorizedError,
)
from app.web.i18n import said_errors, say
from app.web.problems import shown

# The one error-to-status table: the error handlers below (console pages, the JSON API, the designer's JSON
# requests) and every view that shows a refused form again (``refused``, ``status_of``) answer through it.
STATUS = {
    UnauthorizedError: 401, ForbiddenError: 403, NotFoundError: 404, ConflictError: 409,
    InvalidRequestError: 400, InvalidFormError: 422, InvalidDefinitionError: 422,
}


def status_of(error: ServiceError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


# What a page with a form catches to show the form again, the input kept and the fields marked.
FORM_REFUSALS: tuple[type[ServiceError], ...] = (InvalidRequestError, InvalidFormError, ConflictError)


def refused(error: ServiceError) -> tuple[dict[str, str], int]:
    """For a page that shows a refused form again: flash the message in the reader's language, and return
    the field errors (said the same way) and the status from ``STATUS``."""
    flash(say(error.message), "danger")
    return said_errors(error.errors), status_of(error)


def error_body(code: str, message: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": errors or {}}


def service_error_body(error: ServiceError) -> dict[str, Any]:
    """The JSON body of a domain error, its message and field errors in the reader's language."""
    return error_body(error.code, say(error.message), said_errors(error.errors))


def wants_html() -> bool:
    """Console pages get an HTML error page; the JSON API and a JSON request (the designer's) get the error body."""
    return not request.path.startswith("/api/") and not request.is_json


def problems_body(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """A refused definition's problems: as the checks say them for the API, with the reader's text elsewhere."""
    if request.path.startswith("/api/"):
        return [asdict(problem) for problem in problems]
    return shown(problems)


def error_page(status: int, message: str | None) -> tuple[str, int]:
    template = "owner/error.html" if request.blueprint == "owner" else "error.html"  # owners see no staff menu
    return render_template(template, status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> tuple[Response | str, int]:
        db.session.rollback()  # nothing half-done survives a refused request
        if wants_html():
            if isinstance(error, UnauthorizedError) and request.blueprint != "owner":
                return redirect(url_for("console.login", next=request.path)), 302  # type: ignore[return-value]
            return error_page(status_of(error), say(error.message))
        body = service_error_body(error)
        if isinstance(error, InvalidDefinitionError):
            body["problems"] = problems_body(error.details.get("problems", []))
        response = jsonify(body)
        if isinstance(error, UnauthorizedError):
            response.headers["WWW-Authenticate"] = 'Bearer realm="kefu"'
        return response, status_of(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        db.session.rollback()
        if wants_html():
            # werkzeug's own sentence is English: the page says it in the reader's language instead (error.html)
            own = error.description if error.description != type(error).description else ""
            return error_page(error.code or 500, own)
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify(error_body(code, error.description or error.name)), error.code or 500

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Response | str, int]:
        db.session.rollback()
        app.logger.exception("unexpected error")
        if wants_html():
            return error_page(500, gettext("internal error"))
        return jsonify(error_body("internal_error", gettext("internal error"))), 500
