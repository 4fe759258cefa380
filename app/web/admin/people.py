"""People: users with their roles, departments and projects; create, change, reset a password, deactivate."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.services.access import may_administer
from app.services.people import auth
from app.services.people import users as user_service
from app.services.people.organisation import list_departments, list_projects
from app.web.context import me, require, runtime
from app.web.errors import FORM_REFUSALS, refused


@require(may_administer)
def people() -> str:
    search = request.args.get("search", "").strip()
    return render_template("admin/people.html", people=user_service.list_people(search=search), search=search,
                           role_names={role.key: role for role in user_service.all_roles()},
                           department_names={department.key: department for department in list_departments()})


@require(may_administer)
def new_person() -> Any:
    if request.method == "GET":
        return _person_form(values={}, errors={}, person=None)
    values = _submitted()
    try:
        user = user_service.add_person(values["username"], display_name=values["display_name"],
                                       password=request.form.get("password", ""), roles=values["roles"],
                                       departments=values["departments"], projects=values["projects"],
                                       phone=values["phone"], clock=runtime().clock)
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _person_form(values=values, errors=errors, person=None, status=status)
    flash(_("User %(name)s created.", name=user.username), "success")
    return redirect(url_for("admin.person", user_id=user.id))


@require(may_administer)
def person(user_id: int) -> Any:
    found = user_service.get_person(user_id)
    if request.method == "GET":
        return _person_form(values={}, errors={}, person=found)
    values = _submitted()
    try:
        user_service.update_person(user_id, display_name=values["display_name"], roles=values["roles"],
                                   departments=values["departments"], projects=values["projects"],
                                   phone=values["phone"])
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _person_form(values=values, errors=errors, person=found, status=status)
    flash(_("Saved."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@require(may_administer)
def reset_password(user_id: int) -> Any:
    found = user_service.get_person(user_id)
    try:
        user_service.reset_password(user_id, request.form.get("password", ""),
                                    now=runtime().clock.now())
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _person_form(values={}, errors=errors, person=found, status=status)
    flash(_("The password was reset."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@require(may_administer)
def unlock(user_id: int) -> Response:
    user_service.unlock_login(user_id)
    flash(_("The login cool-down was lifted."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@require(may_administer)
def revoke_token(user_id: int, token_id: int) -> Response:
    auth.revoke_token(token_id, by=me(), now=runtime().clock.now(),
                      owner_id=user_id)
    flash(_("The API token was revoked."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@require(may_administer)
def deactivate(user_id: int) -> Response:
    released = user_service.deactivate_user(user_id, by=me(),
                                            now=runtime().clock.now(),
                                            reason=request.form.get("reason", "").strip()[:500])
    flash(_("Deactivated; %(count)d claimed task(s) handed back to their role.", count=released), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@require(may_administer)
def activate(user_id: int) -> Response:
    user_service.reactivate_user(user_id)
    flash(_("Activated again."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


def _submitted() -> dict[str, Any]:
    return {"username": request.form.get("username", "").strip(),
            "display_name": request.form.get("display_name", "").strip(),
            "phone": request.form.get("phone", "").strip(),
            "roles": request.form.getlist("roles"), "departments": request.form.getlist("departments"),
            "projects": request.form.getlist("projects")}


def _person_form(*, values: dict[str, Any], errors: dict[str, str], person: user_service.Person | None,
                 status: int = 200) -> tuple[str, int]:
    shown = values or ({"username": person.username, "display_name": person.display_name, "roles": person.roles,
                        "departments": person.departments, "projects": person.projects,
                        "phone": person.phone or ""} if person else
                       {"username": "", "display_name": "", "roles": [], "departments": [], "projects": [],
                        "phone": ""})
    page = render_template("admin/people_form.html", person=person, values=shown, errors=errors,
                           roles=user_service.all_roles(), departments=list_departments(), projects=list_projects(),
                           is_me=person is not None and person.id == me().id,
                           tokens=auth.list_tokens(person.id) if person else [])
    return page, status
