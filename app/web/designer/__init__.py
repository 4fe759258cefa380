"""The process designer: edit, check and deploy diagrams, decision tables and forms (designer role)."""

from __future__ import annotations

from flask import Blueprint

designer = Blueprint("designer", __name__, url_prefix="/designer")


from flask_login import login_required  # noqa: E402


@designer.get("/")
@login_required
def home() -> str:
    return "designer"
