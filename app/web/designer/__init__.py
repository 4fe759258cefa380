"""The process designer: edit, check and deploy diagrams, decision tables and forms (designer role).

``blueprint`` is the route table; importing this package builds it.
"""

from app.web.designer.blueprint import designer

__all__ = ["designer"]
