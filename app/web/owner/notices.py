"""The notices of an owner's units on their pages (停水停电、电梯维保…): from when they are sent until their end."""

from __future__ import annotations

from typing import Any

from flask import render_template

from app.services.outreach.notices import NoticeView, notices_for_units
from app.web.context import runtime
from app.web.owner.context import current_owner, owner_required, the_owner


def current_notices() -> list[NoticeView]:
    """The signed-in owner's notices that have not ended (none when nobody is signed in)."""
    owner = current_owner()
    if owner is None:
        return []
    return notices_for_units(owner.unit_ids, now=runtime().clock.now())


def notice_helpers() -> dict[str, Any]:
    """What the owner templates may call: ``current_notices()`` (the home page lists them)."""
    return {"current_notices": current_notices}


@owner_required
def notices() -> str:
    the_owner()
    return render_template("notices/owner_list.html", notices=current_notices())
