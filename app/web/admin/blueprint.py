"""The admin console's route table: every URL under /admin and the view that answers it.

Pages for admins and managers; each area of the console is one module (``instances``, ``repairs``,
``definitions``, ``dashboard``, ``people``, ``organisation``, ``reports``, ``access_log``, ``calendar``,
``settings``, ``unstaffed``). The views never import this module; who may open what is
``services.access`` (``may_manage``, ``may_administer``), checked by ``web.context.require`` on each view.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.services.access import may_administer
from app.web.admin import (
    access_log,
    calendar,
    dashboard,
    definitions,
    instances,
    organisation,
    people,
    qr_sheets,
    repairs,
    reports,
    settings,
    unstaffed,
)
from app.web.context import me, signed_in

admin = Blueprint("admin", __name__, url_prefix="/admin")

GET, POST = ["GET"], ["POST"]


def nav_rights() -> dict[str, Any]:
    """Which areas the admin console's menu (``admin/_nav.html``) offers: the rules are ``services.access``."""
    administers = signed_in() and may_administer(me())
    return {"can_see_access_log": administers, "can_see_calendar": administers, "can_see_settings": administers,
            "can_see_people": administers}


admin.context_processor(nav_rights)
admin.context_processor(calendar.calendar_flag)

admin.add_url_rule("/", view_func=instances.home, methods=GET)
admin.add_url_rule("/instances/export.<kind>", view_func=instances.export, methods=GET)
admin.add_url_rule("/filters", view_func=instances.save_filter, methods=POST)
admin.add_url_rule("/filters/<int:filter_id>/delete", view_func=instances.delete_filter, methods=POST)
admin.add_url_rule("/instances/<int:instance_id>", view_func=instances.instance, methods=GET)
admin.add_url_rule("/instances/<int:instance_id>/<any(suspend, resume, terminate, retry):action>",
                   view_func=repairs.change_status, methods=POST)
admin.add_url_rule("/instances/<int:instance_id>/tasks/<task_id>/reassign", view_func=repairs.reassign, methods=POST)
admin.add_url_rule("/instances/<int:instance_id>/tasks/<task_id>/data", view_func=repairs.edit_data, methods=POST)
admin.add_url_rule("/migrate", view_func=repairs.migrate, methods=["GET", "POST"])
admin.add_url_rule("/definitions", view_func=definitions.definitions, methods=GET)
admin.add_url_rule("/definitions/<int:bundle_id>", view_func=definitions.definition, methods=GET)
admin.add_url_rule("/definitions/<int:bundle_id>/diagrams/<process_id>.bpmn",
                   view_func=definitions.diagram, methods=GET)
admin.add_url_rule("/dashboard", view_func=dashboard.dashboard, methods=GET)
admin.add_url_rule("/dashboard/recount", view_func=dashboard.recount, methods=POST)
admin.add_url_rule("/people", view_func=people.people, methods=GET)
admin.add_url_rule("/people/new", view_func=people.new_person, methods=["GET", "POST"])
admin.add_url_rule("/people/<int:user_id>", view_func=people.person, methods=["GET", "POST"])
admin.add_url_rule("/people/<int:user_id>/password", view_func=people.reset_password, methods=POST)
admin.add_url_rule("/people/<int:user_id>/unlock", view_func=people.unlock, methods=POST)
admin.add_url_rule("/people/<int:user_id>/tokens/<int:token_id>/revoke", view_func=people.revoke_token,
                   methods=POST)
admin.add_url_rule("/people/<int:user_id>/deactivate", view_func=people.deactivate, methods=POST)
admin.add_url_rule("/people/<int:user_id>/activate", view_func=people.activate, methods=POST)
admin.add_url_rule("/organisation", view_func=organisation.organisation, methods=GET)
admin.add_url_rule("/organisation/departments", view_func=organisation.save_department, methods=POST)
admin.add_url_rule("/organisation/projects", view_func=organisation.create_project, methods=POST)
admin.add_url_rule("/organisation/projects/<key>", view_func=organisation.org_project, methods=["GET", "POST"])
admin.add_url_rule("/organisation/projects/<key>/units", view_func=organisation.add_unit, methods=POST)
admin.add_url_rule("/organisation/units/<int:unit_id>", view_func=organisation.update_unit, methods=POST)
admin.add_url_rule("/reports/weekly", view_func=reports.weekly_report, methods=GET)
admin.add_url_rule("/reports/weekly/<int:report_id>", view_func=reports.stored_weekly_report, methods=GET)
admin.add_url_rule("/reports/weekly.csv", view_func=reports.weekly_report_csv, methods=GET)
admin.add_url_rule("/reports/weekly/<int:report_id>.csv", view_func=reports.stored_weekly_report_csv, methods=GET)
admin.add_url_rule("/access-log", view_func=access_log.access_log, methods=GET)
admin.add_url_rule("/calendar", view_func=calendar.working_calendar, methods=GET)
admin.add_url_rule("/calendar", view_func=calendar.add_calendar_day, methods=POST)
admin.add_url_rule("/calendar/<int:override_id>/remove", view_func=calendar.remove_calendar_day, methods=POST)
admin.add_url_rule("/settings", view_func=settings.settings, methods=GET)
admin.add_url_rule("/settings/<key>", view_func=settings.change_settings_value, methods=POST)
admin.add_url_rule("/unstaffed", view_func=unstaffed.unstaffed, methods=GET)
admin.add_url_rule("/qr-codes", view_func=qr_sheets.qr_codes, methods=GET)
admin.add_url_rule("/qr-codes/<project_key>/<name>", view_func=qr_sheets.qr_sheet, methods=GET)
