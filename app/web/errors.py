"""The one place domain errors become HTTP responses: {"code", "message", "errors"}."""

from __future__ import annotations

from dataclasses import asdict

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from app.extensions import db
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

STATUS = {
    UnauthorizedError: 401, ForbiddenError: 403, NotFoundError: 404, ConflictError: 409,
    InvalidRequestError: 400, InvalidFormError: 422, InvalidDefinitionError: 422,
}


def status_of(error: ServiceError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    return {"code": code, "message": message, "errors": errors or {}}


def wants_html() -> bool:
    """Console pages get an HTML error page; the JSON API gets the error body."""
    return not request.path.startswith("/api/")


def error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> tuple[Response | str, int]:
        db.session.rollback()  # nothing half-done survives a refused request
        if wants_html():
            if isinstance(error, UnauthorizedError):
                return redirect(url_for("console.login", next=request.path)), 302  # type: ignore[return-value]
            return error_page(status_of(error), error.message)
        body = error_body(error.code, error.message, error.errors)
        if isinstance(error, InvalidDefinitionError):
            body["problems"] = [asdict(problem) for problem in error.details.get("problems", [])]
        response = jsonify(body)
        if isinstance(error, UnauthorizedError):
            response.headers["WWW-Authenticate"] = 'Bearer realm="kefu"'
        return response, status_of(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        db.session.rollback()
        if wants_html():
            return error_page(error.code or 500, error.description or error.name)
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify(error_body(code, error.description or error.name)), error.code or 500

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Response | str, int]:
        db.session.rollback()
        app.logger.exception("unexpected error")
        if wants_html():
            return error_page(500, "服务器内部错误 / internal error")
        return jsonify(error_body("internal_error", "服务器内部错误 / internal error")), 500
