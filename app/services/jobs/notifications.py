"""Notifications: in-app notices (the bell) and the SMS / e-mail outbox.

Writers call ``notify`` / ``send_sms`` / ``send_email`` inside the transaction of the step that
causes them, so a notice exists exactly when its cause committed. The worker delivers the outbox
(``deliver_outbox``) through a pluggable sender and retries failures with back-off.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.models import User
from app.models.jobs import Notification, OutboxMessage
from app.models.users import user_departments, user_roles

log = logging.getLogger("kefu.outbox")

NOTIFICATIONS = Notification.__table__
OUTBOX = OutboxMessage.__table__
OUTBOX_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
OUTBOX_MAX_ATTEMPTS = 5
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
           ticket_id: int | None = None, link: str | None = None) -> int:
    """One notice per distinct user, in the current transaction. Returns how many were written."""
    rows = [{"user_id": user_id, "ticket_id": ticket_id, "kind": kind, "params": params, "link": link,
             "created_at": now} for user_id in dict.fromkeys(user_ids)]
    if rows:
        db.session.execute(insert(NOTIFICATIONS), rows)
    return len(rows)


def is_mobile_number(phone: str | None) -> bool:
    """A mainland China mobile number: 11 digits starting with 1, optionally after +86 (spaces, dashes ignored)."""
    return phone is not None and MOBILE_NUMBER.fullmatch(re.sub(r"[\s-]", "", phone)) is not None


def send_sms(phone: str | None, body: str, *, now: datetime, ticket_id: int | None = None) -> bool:
    """Queue an SMS; nothing (False) when there is no number or it is not a mobile. The worker sends it."""
    if phone is None or not is_mobile_number(phone):
        return False
    _queue("sms", phone, None, body, now=now, ticket_id=ticket_id)
    return True


def send_email(address: str, subject: str, body: str, *, now: datetime, ticket_id: int | None = None) -> None:
    _queue("email", address, subject, body, now=now, ticket_id=ticket_id)


def _queue(channel: str, recipient: str, subject: str | None, body: str, *, now: datetime,
           ticket_id: int | None) -> None:
    db.session.execute(insert(OUTBOX).values(
        channel=channel, recipient=recipient, subject=subject, body=body, ticket_id=ticket_id, status="pending",
        attempts=0, next_attempt_at=now, created_at=now))


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


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    recipient: str
    subject: str | None
    body: str


class LogSender:
    """The default: every message is written to the log (what a site without an SMS gateway gets)."""

    def send(self, message: OutgoingMessage) -> None:
        log.info("%s to %s: %s%s", message.channel, message.recipient,
                 f"[{message.subject}] " if message.subject else "", message.body)


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


def sender_from_config(config: dict[str, Any]) -> Sender:
    if config.get("SMTP_HOST"):
        return SmtpSender(config["SMTP_HOST"], int(config.get("SMTP_PORT", 25)),
                          config.get("SMTP_FROM", "kefu@localhost"))
    return LogSender()


def next_outbox_attempt_at() -> datetime | None:
    """When the earliest pending message is due (a failed one waits out its back-off)."""
    value = db.session.scalar(select(func.min(OUTBOX.c.next_attempt_at)).where(OUTBOX.c.status == "pending"))
    db.session.commit()
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns min() untyped
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def deliver_outbox(sender: Sender, *, now: datetime, limit: int = 100) -> tuple[int, int]:
    """Send what is due; failures are retried later with back-off, then marked failed.

    Each message is taken with a row lock (SKIP LOCKED on PostgreSQL), so several workers never send
    one message twice. Returns (sent, failed attempts).
    """
    sent = failed = 0
    for _ in range(limit):
        message = _take_next(now)
        if message is None:
            break
        try:
            sender.send(OutgoingMessage(message.channel, message.recipient, message.subject, message.body))
        except Exception as exc:  # any sender failure is retried, never lost
            failed += 1
            _record_failure(message, str(exc) or type(exc).__name__, now)
        else:
            sent += 1
            message.status, message.sent_at, message.attempts = "sent", now, message.attempts + 1
        db.session.commit()
    return sent, failed


def _take_next(now: datetime) -> OutboxMessage | None:
    query = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalars(query).first()


def _record_failure(message: OutboxMessage, error: str, now: datetime) -> None:
    message.attempts += 1
    message.last_error = error[:2000]
    if message.attempts >= OUTBOX_MAX_ATTEMPTS:
        message.status = "failed"
        log.error("outbox %s to %s failed for good: %s", message.channel, message.recipient, error)
        return
    message.next_attempt_at = now + OUTBOX_BACKOFF[min(message.attempts - 1, len(OUTBOX_BACKOFF) - 1)]
