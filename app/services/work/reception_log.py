"""The daily reception log (每日业户接待情况表) of one project: every call of a business day — the new tickets and
the repeated calls attached to open ones — and the CS supervisor's daily check of it (客服主管每天检查前台接待
工作情况): who checked, when, a note; one per day and project, audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AuditEvent, Project, Ticket, User
from app.models.knowledge import FrontDeskCheck
from app.services.access import Actor, may_watch_wallboard
from app.services.errors import ConflictError, ForbiddenError, InvalidFormError, NotFoundError, msg
from app.services.figures.wallboard import day_bounds
from app.services.oversight import exports
from app.services.people.organisation import visible_projects

MAX_ROWS = 2000  # a busy project's day is a few hundred
NOTE_LIMIT = 1000


@dataclass(frozen=True)
class Reception:
    """One line of the log: a call recorded as a ticket, or a repeated call attached to one."""

    at: datetime
    ticket_number: str
    caller: str
    phone: str
    unit: str
    matter: str
    category: str
    recorded_by: str
    department: str | None
    stage: str | None
    outcome: str | None
    attached: bool  # a repeated call on an earlier ticket, not a new one


def receptions(day: date, project_key: str, *, user: Actor, timezone: str) -> list[Reception]:
    """The day's receptions of a project, in time order; Forbidden/NotFound as ``_require_project``."""
    _require_project(project_key, user)
    start, end = day_bounds(day, timezone)
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.project_key == project_key, Ticket.received_at >= start, Ticket.received_at < end)
        .order_by(Ticket.received_at, Ticket.id).limit(MAX_ROWS)).all()
    calls = db.session.execute(
        select(AuditEvent.at, AuditEvent.actor_id, AuditEvent.data, Ticket)
        .join(Ticket, Ticket.instance_id == AuditEvent.instance_id)
        .where(AuditEvent.action == "call_attached", AuditEvent.at >= start, AuditEvent.at < end,
               Ticket.project_key == project_key).order_by(AuditEvent.at).limit(MAX_ROWS)).all()
    names = _names({t.received_by_id for t in tickets} | {call.actor_id for call in calls})
    rows = [Reception(t.received_at, t.number, t.caller or "", t.phone or "", t.unit_code, t.description or "",
                      t.category, names.get(t.received_by_id or 0, ""), t.department, t.stage, t.outcome, False)
            for t in tickets]
    for at, actor_id, data, ticket in calls:
        call = data or {}
        rows.append(Reception(at, ticket.number, str(call.get("caller_name") or ticket.caller or ""),
                              str(call.get("phone") or ""), ticket.unit_code, str(call.get("description") or ""),
                              ticket.category, names.get(actor_id or 0, ""), ticket.department, ticket.stage,
                              ticket.outcome, True))
    return sorted(rows, key=lambda row: row.at)[:MAX_ROWS]


def check_of(day: date, project_key: str) -> FrontDeskCheck | None:
    return db.session.scalars(select(FrontDeskCheck).where(FrontDeskCheck.day == day,
                                                           FrontDeskCheck.project_key == project_key)).first()


def record_check(day: date, project_key: str, note: str, *, user: Actor, now: datetime,
                 timezone: str) -> FrontDeskCheck:
    """The supervisor's check of a day's log: once per day and project (Conflict), not of a day still to come
    (InvalidForm), by a supervisor of the project (Forbidden/NotFound). One transaction with its audit event."""
    _require_project(project_key, user)
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        raise InvalidFormError(msg("Please correct the marked fields."), errors={
            "note": msg("at most %(limit)s characters (now %(length)s)", limit=NOTE_LIMIT, length=len(note))})
    if day > day_of(now, timezone):
        raise InvalidFormError(msg("a day still to come cannot be checked"), errors={
            "day": msg("a day still to come cannot be checked")})
    if check_of(day, project_key) is not None:
        raise ConflictError(msg("this day's reception log was already checked"))
    check = FrontDeskCheck(day=day, project_key=project_key, checked_by_id=user.id, checked_by_name=user.username,
                           checked_at=now, note=note)
    db.session.add(check)
    db.session.add(AuditEvent(instance_id=None, actor_id=user.id, action="front_desk_check", at=now,
                              data={"day": day.isoformat(), "project": project_key, "note": note}))
    try:
        db.session.commit()
    except IntegrityError as exc:  # a second supervisor checked in the same moment
        db.session.rollback()
        raise ConflictError(msg("this day's reception log was already checked")) from exc
    return check


def day_of(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def _require_project(project_key: str, user: Actor) -> None:
    if not may_watch_wallboard(user):
        raise ForbiddenError(msg("only supervisors read the daily reception log"))
    allowed = visible_projects(user)
    if db.session.get(Project, project_key) is None or (allowed is not None and project_key not in allowed):
        raise NotFoundError(msg("no project %(project)s", project=project_key))


def _names(user_ids: set[int | None]) -> dict[int, str]:
    ids = [user_id for user_id in user_ids if user_id]
    return {user_id: name or username for user_id, name, username in db.session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(ids)))} if ids else {}


# --- the printed and exported table ---------------------------------------------------------------------------


def table_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (Excel opens the Chinese text); cells guarded as the admin's export does."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([exports.spreadsheet_cell(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode()


def table_xlsx(header: Sequence[str], rows: Sequence[Sequence[Any]], *, sheet_name: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append([exports.spreadsheet_cell(cell) for cell in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
