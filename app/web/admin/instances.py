"""The instance list (filters, sort, keyset pages, saved filters, CSV/XLSX export) and the instance page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.services.access import may_administer, may_manage
from app.services.errors import InvalidRequestError
from app.services.jobs.notifications import texts_about_ticket
from app.services.oversight import exports
from app.services.oversight import instance_search as listing
from app.services.oversight.diagrams import instance_page
from app.services.oversight.repairs import role_keys
from app.services.people.access_log import log_export, log_phone_view, may_export_phones
from app.web.context import me, require, runtime
from app.web.errors import status_of
from app.web.i18n import said_errors, say
from app.web.labels import CODE_LABELS, export_label
from app.web.timeline import timeline_lines


def query_of(flt: listing.InstanceFilter) -> dict[str, Any]:
    """The filter as URL parameters for ``url_for``."""
    return dict(flt.as_query())


@require(may_manage)
def home() -> Any:
    rt = runtime()
    try:
        flt = listing.parse_filter(request.args)
        page = listing.list_instances(flt, user=me(), now=rt.clock.now(), timezone=rt.timezone,
                                      cursor=request.args.get("cursor") or None)
        errors: dict[str, str] = {}
        status = 200
    except InvalidRequestError as exc:
        flt, page, errors = listing.InstanceFilter(), listing.InstancePage([], None), said_errors(exc.errors)
        status = status_of(exc)
    return render_template("admin/instances.html", flt=flt, page=page, errors=errors, now=rt.clock.now(),
                           query=flt.as_query(), saved=listing.saved_filters(user=me()),
                           choices=listing.filter_choices(), statuses=listing.STATUSES, sorts=listing.SORTS,
                           status_words={status: Markup(_(status)) for status in listing.STATUSES},  # noqa: S704 - as _() in a template
                           stages=CODE_LABELS["stage"], departments=CODE_LABELS["department"],
                           may_repair=may_administer(me()), may_export_phones=may_export_phones(me())), status


@require(may_manage)
def export(kind: str) -> Response:
    if kind not in ("csv", "xlsx"):
        return Response(_("Unknown export format."), status=404)
    rt = runtime()
    flt = listing.parse_filter(request.args)
    now = rt.clock.now()
    masked = not may_export_phones(me())
    rows = list(exports.export_rows(flt, user=me(), now=now, timezone=rt.timezone, masked=masked))
    log_export(me(), kind=kind, masked=masked, ticket_numbers=[row.ticket_number or "" for row in rows],
               filters=flt.as_query(), now=now)
    stamp = now.strftime("%Y%m%d-%H%M")
    if kind == "csv":
        body = exports.to_csv(rows, now=now, timezone=rt.timezone, label=export_label)
        mimetype = "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(rows, now=now, timezone=rt.timezone, label=export_label)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="instances-{stamp}.{kind}"'})


@require(may_manage)
def save_filter() -> Response:
    flt = listing.parse_filter(request.form)
    try:
        listing.save_filter(request.form.get("name", ""), flt, user=me(), now=runtime().clock.now())
        flash(_("Filter saved."), "success")
    except InvalidRequestError as exc:
        flash(say(exc.message), "danger")
    return redirect(url_for("admin.home", **query_of(flt)))


@require(may_manage)
def delete_filter(filter_id: int) -> Response:
    listing.delete_saved_filter(filter_id, user=me())
    flash(_("Filter deleted."), "success")
    return redirect(url_for("admin.home"))


@require(may_manage)
def instance(instance_id: int) -> Any:
    return render_instance(instance_id)


def render_instance(instance_id: int, *, status: int = 200, values: dict[str, str] | None = None,
                    errors: dict[str, str] | None = None) -> Any:
    """The instance page; a refused repair shows it again with what was typed and what was wrong."""
    rt = runtime()
    page = instance_page(rt, instance_id, user=me())
    if page.ticket is not None and page.ticket.phone:
        log_phone_view(me(), page.ticket.number, source="admin_instance", now=rt.clock.now())
    return render_template("admin/instance.html", page=page, timeline=timeline_lines(page.timeline),
                           may_repair=may_administer(me()), values=values or {}, errors=errors or {},
                           page_roles=role_keys(),
                           texts=texts_about_ticket(page.ticket.number) if page.ticket is not None else [],
                           now=rt.clock.now()), status
