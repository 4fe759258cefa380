"""My account: change my password, list, create and revoke my API tokens."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user
from werkzeug.wrappers import Response

from app.services.people.auth import issue_token, list_tokens, principal_for_user, revoke_token
from app.services.people.users import change_own_password
from app.web.context import me, runtime
from app.web.errors import FORM_REFUSALS, status_of
from app.web.i18n import said_errors
from app.web.session import SessionUser, mark_seen


@login_required
def account() -> str:
    return _page()


@login_required
def change_password() -> Response | tuple[str, int]:
    try:
        change_own_password(me().id, current=request.form.get("current", ""), new=request.form.get("password", ""),
                            now=runtime().clock.now())
    except FORM_REFUSALS as exc:
        return _page(errors=said_errors(exc.errors)), status_of(exc)
    principal = principal_for_user(me().id)
    assert principal is not None  # the user is signed in, so active
    login_user(SessionUser(principal))  # this session goes on with the new version; every other one ended
    mark_seen()
    flash(_("Password changed; your other sessions and your API tokens no longer work."), "success")
    return redirect(url_for("console.account"))


@login_required
def new_token() -> str:
    token = issue_token(me(), runtime().clock, label=request.form.get("label", ""))
    return _page(new_token=token)


@login_required
def revoke(token_id: int) -> Response:
    revoke_token(token_id, by=me(), now=runtime().clock.now())
    flash(_("The API token was revoked."), "success")
    return redirect(url_for("console.account"))


def _page(*, errors: dict[str, str] | None = None, new_token: str | None = None) -> str:
    return render_template("account.html", tokens=list_tokens(me().id), errors=errors or {}, new_token=new_token)
