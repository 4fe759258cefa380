"""An owner signs in (a code texted to their mobile, or a personal link), agrees to the privacy notice, signs out.

Asking for a code is limited per number and per client address, checking one per address (Flask-Limiter,
429); the service locks a number after repeated wrong codes. The answer never says whether a number is
registered: a code is "sent" to any mobile number, only a registered one gets a text.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.extensions import limiter
from app.services.errors import InvalidFormError, msg
from app.services.owners import signin
from app.services.owners.consent import PRIVACY_VERSION, has_consented, record_consent
from app.services.owners.identity import mask_phone, normalize_phone
from app.web.context import runtime
from app.web.errors import status_of
from app.web.i18n import said_errors, say
from app.web.owner.context import (
    clear_session_cookie,
    current_owner,
    session_token,
    set_session_cookie,
)
from app.web.redirects import safe_next


def _codes_per_phone() -> str:
    return str(current_app.config["OWNER_CODES_PER_PHONE"])


def _codes_per_address() -> str:
    return str(current_app.config["OWNER_CODES_PER_ADDRESS"])


def _checks_per_address() -> str:
    return str(current_app.config["OWNER_CODE_CHECKS_PER_ADDRESS"])


def _typed_phone() -> str:
    """The per-number limit's key: the number as the service reads it (spaces or +86 do not make a new one)."""
    typed = request.form.get("phone", "")
    return "owner-phone:" + (normalize_phone(typed) or typed.strip()[:20])


def _refused(response: Response) -> bool:
    return response.status_code == 401


def _too_many() -> str:
    return say(msg("too many attempts; try again later"))


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _address() -> str:
    return request.remote_addr or ""


@limiter.limit(_codes_per_address, methods=["POST"], error_message=_too_many)
@limiter.limit(_codes_per_phone, methods=["POST"], key_func=_typed_phone, error_message=_too_many)
def sign_in() -> Any:
    """GET: the number form. POST: send a code (to a registered number) and show the code form."""
    next_url = safe_next(request.values.get("next"), url_for("owner.home"))
    if request.method == "GET":
        if current_owner() is not None:
            return redirect(next_url)
        return render_template("owner/sign_in.html", next=next_url)
    try:
        phone = signin.send_code(request.form.get("phone"), now=runtime().clock.now(), secret=_secret())
    except InvalidFormError as exc:
        return render_template("owner/sign_in.html", next=next_url, phone=request.form.get("phone", ""),
                               errors=said_errors(exc.errors)), status_of(exc)
    return render_template("owner/code.html", next=next_url, phone=phone, masked=mask_phone(phone),
                           minutes=signin.CODE_MINUTES)


@limiter.limit(_checks_per_address, methods=["POST"], deduct_when=_refused, error_message=_too_many)
def check_code() -> Any:
    next_url = safe_next(request.form.get("next"), url_for("owner.home"))
    phone = request.form.get("phone", "")
    try:
        signed_in = signin.sign_in_with_code(phone, request.form.get("code"), now=runtime().clock.now(),
                                             secret=_secret(), address=_address())
    except signin.CodeRefusedError as exc:
        flash(say(exc.message), "danger")
        return render_template("owner/code.html", next=next_url, phone=phone, masked=mask_phone(phone),
                               minutes=signin.CODE_MINUTES), 401
    except InvalidFormError:
        return redirect(url_for("owner.sign_in"))
    return set_session_cookie(redirect(next_url), signed_in.token)


# A link's purpose (services/owners/signin.LINK_PURPOSES) -> the page it opens, given the ticket's number.
LINK_PAGES = {"follow": "owner.ticket"}


def sign_in_with_link(token: str) -> Response:
    """A personal link from a text: signs in once (404 after, or when changed or expired), then its page."""
    signed_in = signin.sign_in_with_link(token, now=runtime().clock.now(), secret=_secret(), address=_address())
    target = url_for(LINK_PAGES[signed_in.purpose], number=signed_in.ticket_number)
    return set_session_cookie(redirect(target), signed_in.token)


def sign_out() -> Response:
    signin.end_session(session_token(), now=runtime().clock.now())
    return clear_session_cookie(redirect(url_for("owner.sign_in")))


def privacy() -> Any:
    """The privacy notice; signed in and not yet agreed, the owner is asked to agree (once per version)."""
    owner = current_owner()
    next_url = safe_next(request.values.get("next"), url_for("owner.home"))
    if request.method == "POST":
        if owner is None:
            return redirect(url_for("owner.sign_in", next=next_url))
        if request.form.get("agree") != "yes":
            flash(say(msg("please agree to the privacy notice to continue")), "warning")
            return render_template("owner/privacy.html", ask=True, next=next_url, version=PRIVACY_VERSION), 422
        record_consent(owner.phone, now=runtime().clock.now())
        return redirect(next_url)
    ask = owner is not None and not has_consented(owner.phone)
    return render_template("owner/privacy.html", ask=ask, next=next_url, version=PRIVACY_VERSION)
