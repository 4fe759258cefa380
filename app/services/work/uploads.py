"""Who may open a stored photo or signature: whoever may see the ticket (or instance) it was submitted on.

A file is stored under a random name and a task's data keeps ``upload:<name>`` (web/form_fields.py); the
audit event of that step holds the same data, so the events say which instances a file belongs to.
"""

from __future__ import annotations

import re

from sqlalchemy import Text, cast, select

from app.extensions import db
from app.models import AuditEvent, Ticket
from app.services.access import Actor
from app.services.errors import ForbiddenError, NotFoundError, msg
from app.services.people.organisation import ticket_project_hidden
from app.services.runtime import Runtime
from app.services.work.instances import instance_detail

STORED_NAME = re.compile(r"[0-9a-f]{32}\.[a-z0-9]{1,8}")  # what save_upload writes: a random hex name + suffix


def require_upload(rt: Runtime, name: str, *, user: Actor) -> None:
    """Return when ``user`` may open the upload ``name``; raise NotFoundError otherwise (also for a file
    that belongs to nothing, or a name that is not a stored one), so the answer says nothing of other tickets."""
    if STORED_NAME.fullmatch(name) is None:
        raise NotFoundError(msg("no file %(name)s", name=name))
    referenced = f'%"upload:{name}"%'  # the name is hex and a suffix: no LIKE wildcard in it
    rows = db.session.execute(
        select(AuditEvent.instance_id, Ticket.project_key).distinct()
        .outerjoin(Ticket, Ticket.instance_id == AuditEvent.instance_id)
        .where(AuditEvent.instance_id.is_not(None), cast(AuditEvent.data, Text).like(referenced))).all()
    if not any(_may_see(rt, instance_id, project_key, user) for instance_id, project_key in rows
               if instance_id is not None):
        raise NotFoundError(msg("no file %(name)s", name=name))


def _may_see(rt: Runtime, instance_id: int, project_key: str | None, user: Actor) -> bool:
    if project_key is not None:  # a ticket's page (and its timeline's files) is open to its project's people
        return not ticket_project_hidden(project_key, user)
    try:
        instance_detail(rt, instance_id, user=user)
    except (NotFoundError, ForbiddenError):
        return False
    return True
