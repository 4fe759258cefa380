"""The admin console: instances, repairs, definitions, dashboard, people and organisation, reports.

``blueprint`` is the route table; importing this package builds it.
"""

from app.web.admin.blueprint import admin

__all__ = ["admin"]
