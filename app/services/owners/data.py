"""An owner's own data, for their download (PIPL art. 45): their number, units (with the e-mail address kept
for the units they own), consent, and their tickets with what they told us. The download is logged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.extensions import db
from app.services.owners.access_log import log_owner_export
from app.services.owners.consent import PRIVACY_VERSION, consented_at
from app.services.owners.identity import OwnerPrincipal, owner_emails
from app.services.owners.tickets import given_at_start, owner_tickets


def export_owner_data(owner: OwnerPrincipal, *, now: datetime) -> dict[str, Any]:
    """The owner's data as JSON-ready values; logged in the access log (committed)."""
    tickets = owner_tickets(owner, limit=1000)
    consent = consented_at(owner.phone)
    emails = owner_emails(owner)
    exported = {
        "exported_at": now.isoformat(),
        "phone": owner.phone,
        "units": [{"project": unit.project_key, "project_name": unit.project_name, "unit": unit.code,
                   "relation": unit.relation, "email": emails.get(unit.unit_id)} for unit in owner.units],
        "privacy_consent": {"version": PRIVACY_VERSION, "at": consent.isoformat() if consent else None},
        "tickets": [{
            "number": ticket.number, "project": ticket.project_key, "unit": ticket.unit_code,
            "category": ticket.category, "channel": ticket.channel, "caller": ticket.caller, "phone": ticket.phone,
            "description": ticket.description, "received_at": ticket.received_at.isoformat(),
            "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
            "satisfaction": ticket.satisfaction, "given": given_at_start(ticket.instance_id),
        } for ticket in tickets],
    }
    log_owner_export(owner.phone, [ticket.number for ticket in tickets], emails=sorted(set(emails.values())), now=now)
    db.session.commit()
    return exported
