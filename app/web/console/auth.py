"""Log in, log out, and the language switch."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.extensions import limiter
from app.services.errors import msg
from app.services.people.auth import LoginRefusedError, log_in, log_out, set_locale
from app.web.context import me, runtime, signed_in
from app.web.i18n import LOCALES, bilingual, say, select_locale
from app.web.redirects import safe_next
from app.web.session import SessionUser, mark_seen


def _login_limit() -> str:
    return str(current_app.config["LOGIN_FAILURES_PER_ADDRESS"])


def _refused(response: Response) -> bool:
    return response.status_code == 401


def _too_many() -> str:
    return say(msg("too many attempts; try again later"))


# Wrong passwords from one address across every name (one password tried on many accounts): 429 with
# the error page; the cool-down of one name from one address is the service's (login_throttle).
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_refused, error_message=_too_many)
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html")
    try:
        principal = log_in(request.form.get("username", ""), request.form.get("password", ""), runtime().clock,
                           address=request.remote_addr or "")
    except LoginRefusedError as exc:
        flash(bilingual(exc.message, select_locale()), "danger")
        return render_template("login.html", username=request.form.get("username", "")), 401
    login_user(SessionUser(principal))
    mark_seen()
    return redirect(safe_next(request.args.get("next"), url_for("console.home")))


@login_required
def logout() -> Response:
    log_out(me().id)  # every cookie of this user's sessions, captured or not, stops working
    logout_user()
    return redirect(url_for("console.login"))


def language() -> Response:
    chosen = request.form.get("lang", "zh")
    chosen = chosen if chosen in LOCALES else "zh"
    if signed_in():
        set_locale(me().id, chosen)
    response = redirect(safe_next(request.form.get("next"), url_for("console.home")))
    response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response
