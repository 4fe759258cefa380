"""Repairs (admins only): each a POST with a reason; a refused one shows the page again with the reason kept."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services.access import may_administer
from app.services.errors import ConflictError, InvalidRequestError, NotFoundError
from app.services.oversight import instance_search as listing
from app.services.oversight import repairs
from app.services.steps.plan import open_tasks_of
from app.web.admin.instances import query_of, render_instance
from app.web.context import me, require, runtime
from app.web.errors import refused

MIGRATION_BATCH = 1000
_STATUS_REPAIRS = {"suspend": repairs.suspend, "resume": repairs.resume, "terminate": repairs.terminate}


@require(may_administer)
def change_status(instance_id: int, action: str) -> Any:
    reason = request.form.get("reason", "")
    try:
        if action == "retry":
            outcome = repairs.retry(runtime(), instance_id, actor=me(), reason=reason)
            flash(_("Retried: the instance is now %(status)s.", status=outcome.status),
                  "success" if outcome.status != "error" else "danger")
        else:
            status = _STATUS_REPAIRS[action](runtime(), instance_id, actor=me(), reason=reason)
            flash(_("Done: the instance is now %(status)s.", status=status), "success")
    except (InvalidRequestError, ConflictError) as exc:
        return _refused(instance_id, exc, {"reason": reason, "action": action})
    return redirect(url_for("admin.instance", instance_id=instance_id))


@require(may_administer)
def reassign(instance_id: int, task_id: str) -> Any:
    form = {name: request.form.get(name, "").strip() for name in ("reason", "username", "role")}
    try:
        _require_task_of(instance_id, task_id)
        repairs.reassign_task(runtime(), task_id, actor=me(), reason=form["reason"],
                              username=form["username"] or None, role=form["role"] or None)
    except (InvalidRequestError, ConflictError) as exc:
        return _refused(instance_id, exc, {**form, "task": task_id})
    flash(_("Task reassigned."), "success")
    return redirect(url_for("admin.instance", instance_id=instance_id))


@require(may_administer)
def edit_data(instance_id: int, task_id: str) -> Any:
    form = {"reason": request.form.get("reason", ""), "data": request.form.get("data", ""), "task": task_id}
    try:
        _require_task_of(instance_id, task_id)
        try:
            changes = json.loads(form["data"] or "null")
        except ValueError as exc:
            raise InvalidRequestError(_("The data must be a JSON object."), errors={"data": str(exc)}) from exc
        repairs.edit_task_data(runtime(), task_id, changes, actor=me(), reason=form["reason"])
    except (InvalidRequestError, ConflictError) as exc:
        return _refused(instance_id, exc, form)
    flash(_("Task data changed."), "success")
    return redirect(url_for("admin.instance", instance_id=instance_id))


def _require_task_of(instance_id: int, task_id: str) -> None:
    if not any(task.id == task_id for task in open_tasks_of(instance_id)):
        raise NotFoundError(_("No open task %(task)s in this instance.", task=task_id))


def _refused(instance_id: int, exc: InvalidRequestError | ConflictError, values: dict[str, str]) -> Any:
    errors, status = refused(exc)
    return render_instance(instance_id, status=status, values=values, errors=errors)


@require(may_administer)
def migrate() -> Any:
    """Migrate the instances of a filtered list to another version: a dry run first, then the move."""
    source = request.form if request.method == "POST" else request.args
    rt = runtime()
    flt = listing.parse_filter(source)
    if not flt.process_id:
        flash(_("Choose a flow in the filter first: instances migrate within their flow."), "warning")
        return redirect(url_for("admin.home", **query_of(flt)))
    page = listing.list_instances(flt, user=me(), now=rt.clock.now(), timezone=rt.timezone, limit=MIGRATION_BATCH)
    ids = [row.instance_id for row in page.rows]
    versions = listing.filter_choices()["versions"].get(flt.process_id, [])
    target, reason, checks, done = source.get("target", ""), source.get("reason", ""), None, False
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            if not target.isdigit():
                raise InvalidRequestError(_("Choose the version to move to."), errors={"target": "required"})
            if request.form.get("action") == "migrate":
                checks, done = repairs.migrate_instances(rt, ids, int(target), actor=me(), reason=reason), True
            else:
                checks = repairs.check_migration(rt, ids, int(target))
        except InvalidRequestError as exc:
            errors, status = refused(exc)
    return render_template("admin/instance_migrate.html", flt=flt, query=flt.as_query(), ids=ids,
                           more=page.next_cursor is not None, versions=versions, target=target, reason=reason,
                           checks=checks, done=done, errors=errors), status
