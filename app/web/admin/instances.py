"""Instance list and instance page (placeholder until the admin issue fills it in)."""

from __future__ import annotations

from app.web.admin import MANAGERS, admin, require_roles


@admin.get("/")
@require_roles(MANAGERS)
def home() -> str:
    return "admin"
