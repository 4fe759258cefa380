"""Notifications: in-app notices (the bell) and the SMS / e-mail outbox.

Writers call ``notify`` / ``queue_text`` / ``send_email`` inside the transaction of the step that
causes them, so a notice exists exactly when its cause committed. A text is a template and its parameters
(``sms_templates.py``: carriers deliver nothing else), checked when it is queued. The worker delivers the
outbox (``deliver_outbox``) through the senders chosen by settings (``sms_senders.py``) and retries
failures with back-off.
"""

from __future__ import annotations

import logging
import re
import smtplib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update

from app.extensions import db
from app.models import Ticket, User, user_projects
from app.models.jobs import Notification as Notification  # re-exported: the bell's rows, as the web shows them
from app.models.jobs import OutboxMessage
from app.models.users import user_departments, user_roles
from app.services.jobs.sms_templates import checked_params, render

log = logging.getLogger("kefu.outbox")

NOTIFICATIONS = Notification.__table__
OUTBOX = OutboxMessage.__table__
OUTBOX_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
OUTBOX_MAX_ATTEMPTS = 5
SEND_WINDOW_SECONDS = 1.0  # while sending a batch, commit what went at least this often (deliver_outbox)
MOBILE_NUMBER = re.compile(r"(?:\+?86)?1\d{10}")  # a landline (0571-…) cannot take a text


def user_ids_with_role(role: str, *, department: str | None = None) -> list[int]:
    """Active holders of ``role`` (in ``department`` when given)."""
    query = (select(User.id).join(user_roles, user_roles.c.user_id == User.id)
             .where(user_roles.c.role_key == role, User.is_active.is_(True)))
    if department:
        query = query.join(user_departments, user_departments.c.user_id == User.id).where(
            user_departments.c.department_key == department)
    return list(db.session.scalars(query.order_by(User.id)))


def notify(user_ids: Iterable[int], *, kind: str, params: dict[str, Any], now: datetime,
           ticket_id: int | None = None, link: str | None = None, project_key: str | None = None) -> int:
    """One notice per distinct user, in the current transaction. Returns how many were written.

    A notice about a ticket goes only to those who may see the ticket's project (``may_see_ticket``), one about
    a project's work without a ticket (a notice to owners, a planned callback) to those who may see
    ``project_key``.
    """
    recipients = list(dict.fromkeys(user_ids))
    if ticket_id is not None:
        recipients = may_see_ticket(recipients, ticket_id)
    if project_key is not None:
        recipients = may_see_project(recipients, project_key)
    rows = [{"user_id": user_id, "ticket_id": ticket_id, "kind": kind, "params": params, "link": link,
             "created_at": now} for user_id in recipients]
    if rows:
        db.session.execute(insert(NOTIFICATIONS), rows)
    return len(rows)


def may_see_ticket(user_ids: list[int], ticket_id: int) -> list[int]:
    """Those of ``user_ids`` not limited to other projects than the ticket's, in their order.

    A user with no project rows sees every project (organisation.visible_projects); a ticket's number,
    category, stage and due time are personal enough that a manager of one estate must not get another's.
    """
    project = db.session.scalar(select(Ticket.project_key).where(Ticket.id == ticket_id))
    return may_see_project(user_ids, project) if project is not None else user_ids


def may_see_project(user_ids: list[int], project: str) -> list[int]:
    """Those of ``user_ids`` who work on ``project`` or are limited to no project, in their order."""
    if not user_ids:
        return user_ids
    rows = db.session.execute(select(user_projects.c.user_id, user_projects.c.project_key)
                              .where(user_projects.c.user_id.in_(user_ids))).all()
    limited = {user_id for user_id, _ in rows}
    allowed = {user_id for user_id, key in rows if key == project}
    return [user_id for user_id in user_ids if user_id not in limited or user_id in allowed]


def is_mobile_number(phone: str | None) -> bool:
    """A mainland China mobile number: 11 digits starting with 1, optionally after +86 (spaces, dashes ignored)."""
    return phone is not None and mobile_digits(phone) is not None


def queue_text(phone: str | None, template: str, params: Mapping[str, object], *, now: datetime,
               ticket_id: int | None = None) -> bool:
    """Queue a text of ``template`` (sms_templates.TEMPLATES) with its ``params`` to ``phone``; the worker sends it.

    False (nothing queued) when there is no number or it is not a mobile. Raise InvalidRequestError for an
    unknown template or a missing, empty or unknown parameter, here rather than at the carrier.
    """
    values = checked_params(template, params)
    if phone is None or not is_mobile_number(phone):
        return False
    _queue("sms", phone, None, render(template, values), now=now, ticket_id=ticket_id, template=template, params=values)
    return True


def send_sms(phone: str | None, body: str, *, now: datetime, ticket_id: int | None = None) -> bool:
    """Queue a free-text SMS. Deprecated: only the log sender delivers free text (a real provider marks it
    failed); kept until services/owners/texts.py calls ``queue_text``."""
    if phone is None or not is_mobile_number(phone):
        return False
    _queue("sms", phone, None, body, now=now, ticket_id=ticket_id)
    return True


def send_email(address: str, subject: str, body: str, *, now: datetime, ticket_id: int | None = None) -> None:
    _queue("email", address, subject, body, now=now, ticket_id=ticket_id)


def _queue(channel: str, recipient: str, subject: str | None, body: str, *, now: datetime,
           ticket_id: int | None, template: str | None = None, params: dict[str, str] | None = None) -> None:
    db.session.connection().execute(_INSERT_OUTBOX, {
        "channel": channel, "recipient": recipient, "subject": subject, "body": body, "template": template,
        "params": params, "ticket_id": ticket_id, "status": "pending", "attempts": 0, "next_attempt_at": now,
        "created_at": now})


_INSERT_OUTBOX = insert(OUTBOX)  # built once, run with the message as parameters


@dataclass(frozen=True)
class SentText:
    """A text of the outbox as support staff read it (``flask outbox --to``)."""

    recipient: str
    created_at: datetime
    status: str  # an OutboxStatus
    template: str | None  # None: a free text from before templates
    body: str  # rendered in Chinese, with the signature
    ticket_number: str | None
    last_error: str | None


def texts_to(phone: str, *, limit: int = 50) -> list[SentText]:
    """The texts queued for ``phone`` (in any of its written forms: +86, spaces, dashes), newest first."""
    digits = mobile_digits(phone)
    if digits is None:
        return []
    texts = _sent_texts(OutboxMessage.recipient.like(f"%{digits[-4:]}"))
    return [text for text in texts if mobile_digits(text.recipient) == digits][:limit]


def texts_about_ticket(number: str, *, limit: int = 50) -> list[SentText]:
    """The texts sent about ticket ``number`` (to its owner and to staff), newest first. The caller checks
    that the reader may see the ticket's personal data (a text names the owner's unit and number)."""
    return _sent_texts(Ticket.number == number)[:limit]


def _sent_texts(condition: ColumnElement[bool]) -> list[SentText]:
    rows = db.session.execute(
        select(OutboxMessage, Ticket.number).outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
        .where(OutboxMessage.channel == "sms", condition)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())).all()
    return [SentText(row.recipient, row.created_at, row.status, row.template, row.body, number, row.last_error)
            for row, number in rows]


def mobile_digits(phone: str) -> str | None:
    """The 11 digits of a mainland mobile number written in any accepted form; None when it is not one."""
    compact = re.sub(r"[\s-]", "", phone)
    return compact[-11:] if MOBILE_NUMBER.fullmatch(compact) else None


# --- reading and marking (the bell) ---------------------------------------------------------------

def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(NOTIFICATIONS).where(
        NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None))) or 0


def notifications_of(user_id: int, *, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)
                                   .order_by(Notification.id.desc()).limit(limit)))


def mark_read(user_id: int, *, now: datetime, notification_id: int | None = None) -> int:
    """Mark one notice (or all when ``notification_id`` is None) of this user as read."""
    statement = update(NOTIFICATIONS).where(NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None))
    if notification_id is not None:
        statement = statement.where(NOTIFICATIONS.c.id == notification_id)
    count = db.session.connection().execute(statement.values(read_at=now)).rowcount
    db.session.commit()
    return count


# --- delivery -------------------------------------------------------------------------------------

class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None: ...


class UndeliverableError(Exception):
    """A message the sender can never send (a free text to a carrier that takes templates only): failed at once."""


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    recipient: str
    subject: str | None
    body: str  # the text as rendered (what the log shows)
    template: str | None = None  # an SMS's template key and its parameters, in the template's order
    params: Mapping[str, str] | None = None


class LogSender:
    """The default: every message is written to the log, a text as its rendered Chinese with its template key
    (what a site without an SMS provider gets)."""

    def send(self, message: OutgoingMessage) -> None:
        label = f"[{message.subject or message.template}] " if message.subject or message.template else ""
        log.info("%s to %s: %s%s", message.channel, message.recipient, label, message.body)


class SmtpSender:
    """E-mail through an SMTP server; SMS still go to the log (no gateway configured)."""

    def __init__(self, host: str, port: int, sender: str, fallback: Sender | None = None) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.fallback = fallback or LogSender()

    def send(self, message: OutgoingMessage) -> None:
        if message.channel != "email":
            self.fallback.send(message)
            return
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.recipient, message.subject or ""
        email.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(email)


def deliver_outbox(sender: Sender, *, now: datetime, limit: int = 100) -> tuple[int, int]:
    """Send what is due, up to ``limit`` messages; failures are retried later with back-off, then marked failed.

    Messages are taken a batch at a time with row locks (SKIP LOCKED on PostgreSQL), so several workers never send
    one message twice, and the batch's outcomes are written and committed together: one transaction per batch,
    not per message. A batch is cut short after ``SEND_WINDOW_SECONDS`` of sending (a slow gateway): what was
    sent is committed and the rest of the batch, untouched, goes back to the queue. So a worker killed while
    sending sends again at most what it sent in its last window (at least once, never lost). Returns
    (sent, failed attempts).
    """
    sent = failed = 0
    connection = db.session.connection()
    take = _TAKE_OUTBOX[connection.dialect.name == "postgresql"]
    while (wanted := limit - sent - failed) > 0:
        batch = connection.execute(take, {"now": now, "limit": wanted}).all()
        done: list[int] = []
        failures: list[dict[str, Any]] = []
        started = time.monotonic()
        for row in batch:
            try:
                sender.send(OutgoingMessage(row.channel, row.recipient, row.subject, row.body, row.template,
                                            row.params))
            except Exception as exc:  # any sender failure is retried, never lost
                failures.append(_failure(row, str(exc) or type(exc).__name__, now,
                                         final=isinstance(exc, UndeliverableError)))
            else:
                done.append(row.id)
            if time.monotonic() - started >= SEND_WINDOW_SECONDS:
                break
        if done:
            connection.execute(_MARK_SENT, {"ids": done, "now": now})
        if failures:
            connection.execute(_MARK_FAILED, failures)
        db.session.commit()
        sent, failed = sent + len(done), failed + len(failures)
        if len(done) + len(failures) == len(batch) < wanted:  # the whole batch went and nothing else is due
            break
        connection = db.session.connection()
    return sent, failed


def _take_outbox(skip_locked: bool) -> Any:
    query = (select(OUTBOX.c.id, OUTBOX.c.channel, OUTBOX.c.recipient, OUTBOX.c.subject, OUTBOX.c.body,
                    OUTBOX.c.template, OUTBOX.c.params, OUTBOX.c.attempts, OUTBOX.c.next_attempt_at)
             .where(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= bindparam("now"))
             .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(bindparam("limit")))
    return query.with_for_update(skip_locked=True) if skip_locked else query


_TAKE_OUTBOX = {skip_locked: _take_outbox(skip_locked) for skip_locked in (False, True)}
_MARK_SENT = (update(OUTBOX).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
              .values(status="sent", sent_at=bindparam("now"), attempts=OUTBOX.c.attempts + 1))
_MARK_FAILED = (update(OUTBOX).where(OUTBOX.c.id == bindparam("message_id"))
                .values(status=bindparam("new_status"), attempts=bindparam("new_attempts"),
                        next_attempt_at=bindparam("new_next_attempt_at"), last_error=bindparam("new_last_error")))


def _failure(row: Any, error: str, now: datetime, *, final: bool) -> dict[str, Any]:
    """The parameters of ``_MARK_FAILED`` for a message whose attempt failed: back off, or fail it for good."""
    attempts = row.attempts + 1
    final = final or attempts >= OUTBOX_MAX_ATTEMPTS
    if final:
        log.error("outbox %s to %s failed for good: %s", row.channel, row.recipient, error)
    return {"message_id": row.id, "new_status": "failed" if final else "pending", "new_attempts": attempts,
            "new_last_error": error[:2000], "new_next_attempt_at": row.next_attempt_at if final else
            now + OUTBOX_BACKOFF[min(attempts - 1, len(OUTBOX_BACKOFF) - 1)]}
