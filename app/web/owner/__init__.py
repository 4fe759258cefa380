"""The owners' pages (业主服务) under /owner: sign in with an SMS code or a personal link, report, follow.

Separate from the staff console: its own session cookie (``context``), its own templates (templates/owner),
no staff navigation. ``blueprint`` is the route table; importing this package builds it.
"""

from app.web.owner.blueprint import owner

__all__ = ["owner"]
