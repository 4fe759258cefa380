"""Log in, log out, and the language switch."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.services.people.auth import LoginRefusedError, log_in, set_locale
from app.web.context import me, runtime, signed_in
from app.web.i18n import LOCALES, bilingual, select_locale
from app.web.redirects import safe_next
from app.web.session import SessionUser


def login() -> Any:
    if request.method == "GET":
        return render_template("login.html")
    try:
        principal = log_in(request.form.get("username", ""), request.form.get("password", ""), runtime().clock)
    except LoginRefusedError as exc:
        flash(bilingual(exc.message, select_locale()), "danger")
        return render_template("login.html", username=request.form.get("username", "")), 401
    login_user(SessionUser(principal))
    return redirect(safe_next(request.args.get("next"), url_for("console.home")))


@login_required
def logout() -> Response:
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
