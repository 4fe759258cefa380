"""An owner's sign-in: a 6-digit code texted to their mobile, or a personal link from a text; their session.

Codes are valid ``CODE_MINUTES``, used once, stored as an HMAC (keyed by the app's secret), and a number
that sent ``MAX_WRONG_CODES`` wrong codes within ``LOCKOUT`` is locked for the rest of it. Whether a number
is registered never changes the answer: a code is "sent" either way, only a registered number gets a text.
A session is a random token in the owner's cookie and its hash here; logging out ends the row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Ticket
from app.models.owners import OwnerLinkUse, OwnerLoginCode, OwnerSession
from app.services.errors import InvalidFormError, NotFoundError, UnauthorizedError, msg
from app.services.jobs.notifications import queue_text
from app.services.owners.access_log import log_owner_sign_in
from app.services.owners.identity import OwnerPrincipal, normalize_phone, owner_for_phone
from app.services.settings import get_setting

CODE_MINUTES = 5
MAX_WRONG_CODES = 5
LOCKOUT = timedelta(minutes=15)
SEEN_EVERY = timedelta(minutes=5)  # a session's last use is written at most this often
LINK_SALT = "kefu-owner-link"
LINK_PATH = "/owner/l/"  # the owners' route that takes a link's token (web/owner/blueprint.py)
# What a personal link opens after signing in; the web maps each to its page (web/owner/auth.py LINK_PAGES).
LINK_PURPOSES = ("follow",)


class CodeRefusedError(UnauthorizedError):
    code = "owner_code_refused"


@dataclass(frozen=True)
class SignedIn:
    """A new owner session: the cookie's token (shown once), the owner, and the ticket a link was about."""

    token: str
    owner: OwnerPrincipal
    ticket_number: str | None = None
    purpose: str = "follow"  # one of LINK_PURPOSES: the page the link opens


def phone_or_refuse(typed: str | None) -> str:
    phone = normalize_phone(typed)
    if phone is None:
        raise InvalidFormError(msg("enter an 11-digit mobile number"),
                               errors={"phone": msg("enter an 11-digit mobile number")})
    return phone


def send_code(typed_phone: str | None, *, now: datetime, secret: str) -> str:
    """Text a sign-in code to a registered number (a silent no-op otherwise); the normalized number."""
    phone = phone_or_refuse(typed_phone)
    code = f"{secrets.randbelow(1_000_000):06d}"
    db.session.execute(insert(OwnerLoginCode).values(
        phone=phone, code_hash=_hash(secret, phone, code), created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES), failed_attempts=0))
    if owner_for_phone(phone).units and not _is_locked(phone, now):
        queue_text(phone, "owner_login_code", {"code": code, "minutes": CODE_MINUTES}, now=now)
    db.session.commit()
    return phone


def sign_in_with_code(typed_phone: str | None, typed_code: str | None, *, now: datetime, secret: str,
                      address: str) -> SignedIn:
    """Check the newest live code of the number; raise CodeRefused (401) for a wrong, used or expired code,
    or a locked number, and InvalidForm for a malformed number."""
    phone = phone_or_refuse(typed_phone)
    code = (typed_code or "").strip()
    if _is_locked(phone, now):
        raise CodeRefusedError(msg("too many wrong codes; try again in %(minutes)s minutes",
                                   minutes=int(LOCKOUT.total_seconds() // 60)))
    live = db.session.scalars(
        select(OwnerLoginCode).where(OwnerLoginCode.phone == phone, OwnerLoginCode.used_at.is_(None),
                                     OwnerLoginCode.expires_at > now)
        .order_by(OwnerLoginCode.created_at.desc(), OwnerLoginCode.id.desc()).limit(1)).first()
    if live is None or not hmac.compare_digest(live.code_hash, _hash(secret, phone, code)):
        _count_wrong_code(phone, live, now)
        raise CodeRefusedError(msg("wrong or expired code"))
    use_once = (update(OwnerLoginCode).where(OwnerLoginCode.id == live.id, OwnerLoginCode.used_at.is_(None))
                .values(used_at=now))
    used = db.session.connection().execute(use_once)
    if used.rowcount != 1:  # the same code sent twice at once: only one request signs in
        db.session.rollback()
        raise CodeRefusedError(msg("wrong or expired code"))
    return _start_session(phone, via="code", now=now, address=address)


def _count_wrong_code(phone: str, live: OwnerLoginCode | None, now: datetime) -> None:
    if live is not None:
        db.session.execute(update(OwnerLoginCode).where(OwnerLoginCode.id == live.id)
                           .values(failed_attempts=OwnerLoginCode.failed_attempts + 1))
    else:  # no live code: the wrong guess still counts against the number
        db.session.execute(insert(OwnerLoginCode).values(
            phone=phone, code_hash="", created_at=now, expires_at=now, used_at=now, failed_attempts=1))
    db.session.commit()


def _is_locked(phone: str, now: datetime) -> bool:
    wrong = db.session.scalar(select(func.coalesce(func.sum(OwnerLoginCode.failed_attempts), 0))
                              .where(OwnerLoginCode.phone == phone, OwnerLoginCode.created_at > now - LOCKOUT))
    return int(wrong or 0) >= MAX_WRONG_CODES


def _hash(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"owner-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


# --- personal links ---------------------------------------------------------------------------------------

def link_token(phone: str, ticket_number: str, *, now: datetime, secret: str, purpose: str = "follow") -> str:
    """A signed token for a personal link about a ticket: bound to the number, expiring (setting
    ``owner_link_valid_hours``), usable once to sign in; ``purpose`` says which page it opens."""
    expires = now + timedelta(hours=int(get_setting("owner_link_valid_hours")))
    payload = {"p": phone, "t": ticket_number, "n": secrets.token_urlsafe(12), "e": int(expires.timestamp()),
               "u": purpose}
    return URLSafeSerializer(secret, salt=LINK_SALT).dumps(payload)


def text_personal_link(phone: str, ticket_number: str, *, ticket_id: int | None, now: datetime, secret: str,
                       base_url: str, template: str = "owner_link", purpose: str = "follow") -> bool:
    """Queue a text with a personal link about the ticket (template ``owner_link`` by default: number, url,
    hours; another template of sms_templates takes number and url). False when the number takes no texts."""
    url = base_url.rstrip("/") + LINK_PATH + link_token(phone, ticket_number, now=now, secret=secret, purpose=purpose)
    params: dict[str, object] = {"number": ticket_number, "url": url}
    if template == "owner_link":
        params["hours"] = int(get_setting("owner_link_valid_hours"))
    return queue_text(phone, template, params, now=now, ticket_id=ticket_id)


def sign_in_with_link(token: str, *, now: datetime, secret: str, address: str) -> SignedIn:
    """Sign in from a personal link; raise NotFound (404) for a changed, expired or used link, or a ticket
    that is no longer the number's."""
    gone = NotFoundError(msg("this link is not valid any more; sign in with a code"))
    try:
        payload = URLSafeSerializer(secret, salt=LINK_SALT).loads(token)
        phone, number, nonce, expires = str(payload["p"]), str(payload["t"]), str(payload["n"]), int(payload["e"])
        purpose = str(payload.get("u", "follow"))
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise gone from None
    if now.timestamp() >= expires or purpose not in LINK_PURPOSES or not _ticket_of(owner_for_phone(phone), number):
        raise gone
    try:
        db.session.execute(insert(OwnerLinkUse).values(nonce=nonce[:40], phone=phone, ticket_number=number,
                                                       used_at=now))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise gone from None
    signed_in = _start_session(phone, via="link", now=now, address=address)
    return SignedIn(signed_in.token, signed_in.owner, number, purpose)


def _ticket_of(owner: OwnerPrincipal, number: str) -> bool:
    from app.services.owners.tickets import owner_ticket_filter  # tickets imports this module's neighbours

    return db.session.scalar(select(Ticket.id).where(Ticket.number == number, owner_ticket_filter(owner))) is not None


# --- sessions ---------------------------------------------------------------------------------------------

def _start_session(phone: str, *, via: str, now: datetime, address: str) -> SignedIn:
    token = secrets.token_urlsafe(32)
    db.session.execute(insert(OwnerSession).values(token_hash=_token_hash(token), phone=phone, created_at=now,
                                                   last_seen_at=now, via=via))
    log_owner_sign_in(phone, via=via, address=address, now=now)
    db.session.commit()
    return SignedIn(token, owner_for_phone(phone))


def owner_of_session(token: str | None, *, now: datetime, max_age: timedelta) -> OwnerPrincipal | None:
    """The owner of a live session token, or None (unknown, ended, or unused for longer than ``max_age``)."""
    if not token:
        return None
    row = db.session.scalars(select(OwnerSession).where(OwnerSession.token_hash == _token_hash(token),
                                                        OwnerSession.ended_at.is_(None))).first()
    if row is None or now - row.last_seen_at > max_age:
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        db.session.execute(update(OwnerSession).where(OwnerSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
    return owner_for_phone(row.phone)


def end_session(token: str | None, *, now: datetime) -> None:
    if token:
        db.session.execute(update(OwnerSession).where(OwnerSession.token_hash == _token_hash(token))
                           .values(ended_at=now))
        db.session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
