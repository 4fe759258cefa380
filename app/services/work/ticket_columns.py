"""Which task-data variables land in which ticket column (docs/flow-contract.md), and whether a value fits.

PostgreSQL refuses a value longer than its varchar column (SQLite keeps it): a value that does not fit is
refused up front as the field's error (422), whichever route brought it, instead of failing the insert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String

from app.models import Ticket
from app.services.errors import InvalidFormError, Message, msg

# The intake (start form) variables copied to the ticket's columns when the ticket is opened.
INTAKE_COLUMNS = {
    "project": "project_key", "unit": "unit_code", "category": "category", "part": "part", "channel": "channel",
    "caller_name": "caller", "phone": "phone", "description": "description", "emergency": "emergency",
}
# Task-data variables copied to the ticket's columns after every step.
SYNCED_COLUMNS = {
    "stage": "stage", "department": "department", "escalation_level": "escalation_level",
    "rework_count": "rework_count", "satisfaction": "satisfaction", "outcome": "outcome",
    "category": "category", "description": "description",
}


def column_length(column: str) -> int | None:
    """The most characters the ticket column holds (None: any length, or not text)."""
    kind = Ticket.__table__.c[column].type
    return kind.length if isinstance(kind, String) else None


def refuse_overlong(data: Mapping[str, Any], columns: Mapping[str, str]) -> None:
    """Raise InvalidFormError naming every variable of ``data`` too long for its ticket column."""
    errors: dict[str, Message] = {}
    for name, column in columns.items():
        limit = column_length(column)
        value = data.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            errors[name] = msg("at most %(limit)s characters", limit=limit)
    if errors:
        raise InvalidFormError(msg("a value is too long"), errors=errors)
