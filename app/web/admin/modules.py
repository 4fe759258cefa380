"""Imports every admin area so its routes register on the blueprint (one line per area)."""
from app.web.admin import instances  # noqa: F401
from app.web.admin import calendar  # noqa: F401
from app.web.admin import dashboard  # noqa: F401
from app.web.admin import repairs  # noqa: F401
from app.web.admin import definitions  # noqa: F401
from app.web.admin import access_log  # noqa: F401
from app.web.admin import people  # noqa: F401
from app.web.admin import organisation  # noqa: F401
from app.web.admin import reports  # noqa: F401
