"""The staff console: log in, inbox, task pages with their forms, tickets, the bell. Pages, not JSON.

``blueprint`` is the route table; importing this package builds it.
"""

from app.web.console.blueprint import console

__all__ = ["console"]
