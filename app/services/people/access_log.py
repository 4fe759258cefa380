"""Personal data (PIPL): who may see full phone numbers in exports, and the log of every view and export."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, insert, or_, select

from app.extensions import db
from app.models.admin import PII_EXPORT_ROLE, PiiAccess
from app.services.access import Actor

PAGE_SIZE = 100
PERSONAL_KEYS = ("phone", "mobile", "email")  # task-data names that hold a number or an address
ACTIONS = ("view_phone", "export_csv", "export_xlsx", "owner_sign_in", "owner_export")  # owner_*: services/owners


def may_export_phones(user: Actor) -> bool:
    """Exports show full phone numbers only to holders of the export permission."""
    return PII_EXPORT_ROLE in user.role_keys


def log_phone_view(user: Actor, ticket_number: str, *, source: str, now: datetime) -> None:
    """Record that ``user`` was shown the full phone number of a ticket (committed at once)."""
    log_phone_views(user, [ticket_number], source=source, now=now)


def log_phone_views(user: Actor, ticket_numbers: Iterable[str], *, source: str, now: datetime) -> None:
    """Record that ``user`` was shown the full phone numbers of these tickets (a list page): one commit."""
    if add_phone_views(user, ticket_numbers, source=source, now=now):
        db.session.commit()


def add_phone_views(user: Actor, ticket_numbers: Iterable[str], *, source: str, now: datetime) -> bool:
    """``log_phone_views`` in the caller's transaction (a step whose answer shows the phone: it commits with the
    step, as one state change commits once); False when there was nothing to record."""
    rows = [{"user_id": user.id, "username": user.username, "action": "view_phone", "source": source,
             "ticket_number": number, "masked": False, "at": now} for number in ticket_numbers]
    if rows:
        db.session.connection().execute(_INSERT_ACCESS, rows)
    return bool(rows)


_INSERT_ACCESS = insert(PiiAccess.__table__)  # built once, Core (an ORM bulk insert costs more per call)


def log_task_view(user: Actor, *, ticket_number: str | None, ticket_phone: str | None, project_key: str | None,
                  instance_id: int, task_id: str, data: Mapping[str, Any], source: str, now: datetime) -> None:
    """Record that ``user`` was shown a task's personal data in full (committed at once). A ticket's task is
    logged by its ticket, when the ticket has a phone; a task without a ticket but of a project (a planned
    callback: the owner's phone, mobile and e-mail address are its data) by its instance, with the numbers and
    addresses shown, so a data subject's request finds it. Nothing personal shown, nothing logged."""
    if ticket_number is not None:
        if ticket_phone:
            log_phone_view(user, ticket_number, source=source, now=now)
        return
    shown = personal_data_of(data)
    if project_key is None or not shown:
        return
    db.session.execute(insert(PiiAccess).values(
        user_id=user.id, username=user.username, action="view_phone", source=source, ticket_number=None,
        masked=False, detail={"instance_id": instance_id, "task_id": task_id, "project": project_key,
                              "unit": data.get("unit"), **shown}, at=now))
    db.session.commit()


def personal_data_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The phone numbers and e-mail addresses among a task's data (``phone``, ``mobile``, ``owner_email``…)."""
    return {key: value for key, value in data.items()
            if isinstance(value, str) and value and any(part in key for part in PERSONAL_KEYS)}


def log_export(user: Actor, *, kind: str, masked: bool, ticket_numbers: Iterable[str], filters: dict[str, Any],
               now: datetime) -> None:
    """Record an export: its format, whether phones were masked, the filter and every ticket in it."""
    numbers = [number for number in ticket_numbers if number]
    db.session.execute(insert(PiiAccess).values(
        user_id=user.id, username=user.username, action=f"export_{kind}", source="instance_list",
        ticket_number=numbers[0] if len(numbers) == 1 else None, masked=masked,
        detail={"filters": filters, "rows": len(numbers), "tickets": numbers}, at=now))
    db.session.commit()


@dataclass(frozen=True)
class AccessQuery:
    username: str | None = None
    ticket_number: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset: entries older than this one


@dataclass(frozen=True)
class AccessPage:
    entries: list[PiiAccess]
    next_before_id: int | None


def search_access_log(query: AccessQuery, *, limit: int = PAGE_SIZE) -> AccessPage:
    """The log, newest first, filtered by person, ticket (also inside exports), action and time."""
    statement = select(PiiAccess).order_by(PiiAccess.id.desc()).limit(limit + 1)
    if query.username:
        statement = statement.where(PiiAccess.username == query.username)
    if query.ticket_number:
        number = query.ticket_number.strip().upper()
        statement = statement.where(or_(PiiAccess.ticket_number == number,
                                        cast(PiiAccess.detail, Text).contains(f'"{number}"', autoescape=True)))
    if query.action:
        statement = statement.where(PiiAccess.action == query.action)
    if query.since:
        statement = statement.where(PiiAccess.at >= query.since)
    if query.until:
        statement = statement.where(PiiAccess.at < query.until)
    if query.before_id:
        statement = statement.where(PiiAccess.id < query.before_id)
    entries = list(db.session.scalars(statement))
    more = len(entries) > limit
    entries = entries[:limit]
    return AccessPage(entries, entries[-1].id if more else None)
