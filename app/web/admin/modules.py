"""Imports every admin area so its routes register on the blueprint (one line per area)."""
from app.web.admin import (
    access_log,  # noqa: F401
    calendar,  # noqa: F401
    dashboard,  # noqa: F401
    definitions,  # noqa: F401
    instances,  # noqa: F401
    organisation,  # noqa: F401
    people,  # noqa: F401
    repairs,  # noqa: F401
    reports,  # noqa: F401
    settings,  # noqa: F401
    unstaffed,  # noqa: F401
)
