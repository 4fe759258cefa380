"""The technician's "ask the owner to sign remotely" on an open acceptance task (issue 15): the owner gets the
link by text and signs on their own phone; the task then completes by itself."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app.services.owners.answers import ask_owner_to_sign as ask_to_sign
from app.web.context import me, runtime


@login_required
def ask_owner_to_sign(task_id: str) -> Response:
    phone = ask_to_sign(runtime(), task_id, user=me())
    flash(_("The owner (%(phone)s) has been texted a link to sign on their phone.", phone=phone), "success")
    return redirect(url_for("console.task_page", task_id=task_id))
