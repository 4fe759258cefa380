"""Organisation: departments (责任端口), projects (楼盘) and their units, managed by admins."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.services.access import may_administer
from app.services.errors import InvalidFormError
from app.services.people import organisation as org
from app.web.context import require
from app.web.errors import FORM_REFUSALS, refused


@require(may_administer)
def organisation() -> tuple[str, int]:
    return _organisation_page()


def _organisation_page(*, form: str = "", values: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    page = render_template("admin/organisation.html", departments=org.list_departments(),
                           projects=org.list_projects(), form=form, values=values or {}, errors=errors or {})
    return page, status


@require(may_administer)
def save_department() -> Any:
    values = {name: request.form.get(name, "") for name in ("key", "name_zh", "name_en")}
    new = request.form.get("new") == "1"
    try:
        org.save_department(values["key"], name_zh=values["name_zh"], name_en=values["name_en"], new=new)
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _organisation_page(form="department-new" if new else f"department-{values['key']}", values=values,
                                  errors=errors, status=status)
    flash(_("Department %(key)s saved.", key=values["key"].strip()), "success")
    return redirect(url_for("admin.organisation"))


@require(may_administer)
def create_project() -> Any:
    values = {name: request.form.get(name, "") for name in ("key", "name", "city")}
    try:
        project = org.save_project(values["key"], name=values["name"], city=values["city"], new=True)
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _organisation_page(form="project-new", values=values, errors=errors, status=status)
    flash(_("Project %(name)s created.", name=project.name), "success")
    return redirect(url_for("admin.org_project", key=project.key))


@require(may_administer)
def org_project(key: str) -> Any:
    project = org.get_project(key)
    if request.method == "GET":
        return _project_page(project.key)
    values = {name: request.form.get(name, "") for name in ("name", "city")}
    try:
        org.save_project(key, name=values["name"], city=values["city"], new=False)
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _project_page(key, form="project", values=values, errors=errors, status=status)
    flash(_("Saved."), "success")
    return redirect(url_for("admin.org_project", key=key))


def _project_page(key: str, *, form: str = "", values: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    search = request.args.get("search", "").strip()
    page = render_template("admin/org_project.html", project=org.get_project(key),
                           units=org.units_of(key, search=search), search=search, form=form, values=values or {},
                           errors=errors or {})
    return page, status


@require(may_administer)
def add_unit(key: str) -> Any:
    values = _unit_values()
    try:
        handover = _date(values["handover_date"])
        unit = org.add_unit(key, values["code"], owner_name=values["owner_name"], owner_phone=values["owner_phone"],
                            handover_date=handover, is_common_area=values["is_common_area"],
                            owner_email=values["owner_email"],
                            contract_end_date=_date(values["contract_end_date"], "contract_end_date"))
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _project_page(key, form="unit-new", values=values, errors=errors, status=status)
    flash(_("Unit %(code)s added.", code=unit.code), "success")
    return redirect(url_for("admin.org_project", key=key))


@require(may_administer)
def update_unit(unit_id: int) -> Response | tuple[str, int]:
    values = _unit_values()
    project_key = org.get_unit(unit_id).project_key
    try:
        handover = _date(values["handover_date"])
        unit = org.update_unit(unit_id, owner_name=values["owner_name"], owner_phone=values["owner_phone"],
                               handover_date=handover, is_common_area=values["is_common_area"],
                               owner_email=values["owner_email"],
                               contract_end_date=_date(values["contract_end_date"], "contract_end_date"))
    except FORM_REFUSALS as exc:
        errors, status = refused(exc)
        return _project_page(project_key, form=f"unit-{unit_id}", values=values, errors=errors, status=status)
    flash(_("Unit %(code)s saved.", code=unit.code), "success")
    return redirect(url_for("admin.org_project", key=unit.project_key))


def _unit_values() -> dict[str, Any]:
    return {"code": request.form.get("code", ""), "owner_name": request.form.get("owner_name", ""),
            "owner_phone": request.form.get("owner_phone", ""),
            "handover_date": request.form.get("handover_date", "").strip(),
            "owner_email": request.form.get("owner_email", ""),
            "contract_end_date": request.form.get("contract_end_date", "").strip(),
            "is_common_area": request.form.get("is_common_area") == "1"}


def _date(text: str, field: str = "handover_date") -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidFormError(_("Dates are written YYYY-MM-DD."), errors={field: "YYYY-MM-DD"}) from None
