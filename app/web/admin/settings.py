"""Settings (设置): the windows, shares, delays and targets the flows and figures use; every change audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services.access import may_administer
from app.services.errors import InvalidFormError, Message
from app.services.settings import (
    DECLARED_SETTINGS,
    change_setting,
    list_settings,
    people_to_name,
    recent_changes,
    stored_value_text,
)
from app.web.context import me, require, runtime
from app.web.errors import status_of


def _page(*, errors: Mapping[str, Message] | None = None, given: dict[str, str] | None = None) -> str:
    return render_template("admin/settings.html", rows=list_settings(), changes=recent_changes(),
                           declared=DECLARED_SETTINGS, value_text=stored_value_text, people=people_to_name(),
                           errors=errors or {}, given=given or {})


@require(may_administer)
def settings() -> str:
    return _page()


@require(may_administer)
def change_settings_value(key: str) -> Any:
    """:raise 404: for a key no setting declares. 422 with the field marked for a bad value."""
    if key not in DECLARED_SETTINGS:
        abort(404)
    typed = request.form.get("value", "")
    try:
        change = change_setting(key, typed, user=me(), clock=runtime().clock)
    except InvalidFormError as exc:
        return _page(errors=exc.errors, given={key: typed}), status_of(exc)
    if change is None:
        flash(_("Nothing changed."), "info")
    else:
        flash(_("Setting saved."), "success")
    return redirect(url_for("admin.settings", _anchor=f"setting-{key}"))
