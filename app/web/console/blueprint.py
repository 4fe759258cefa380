"""The staff console's route table: every URL of the console and the view that answers it.

Pages, not JSON. The views live in ``auth``, ``inbox``, ``tasks``, ``tickets`` and ``notifications`` and
never import this module; the template helpers every page uses (``web.templating``) register here, app-wide.
"""

from __future__ import annotations

from flask import Blueprint

from app.web.console import auth, inbox, notifications, tasks, tickets
from app.web.templating import render_markdown, template_helpers

console = Blueprint("console", __name__)
console.add_app_template_filter(render_markdown, "markdown")
console.app_context_processor(template_helpers)

GET, POST = ["GET"], ["POST"]

console.add_url_rule("/login", view_func=auth.login, methods=["GET", "POST"])
console.add_url_rule("/logout", view_func=auth.logout, methods=POST)
console.add_url_rule("/language", view_func=auth.language, methods=POST)
console.add_url_rule("/", view_func=inbox.home, methods=GET)
console.add_url_rule("/tasks/<task_id>", view_func=tasks.task_page, methods=GET)
console.add_url_rule("/tasks/<task_id>/hand-over", view_func=tasks.hand_over, methods=POST)
console.add_url_rule("/tasks/<task_id>", view_func=tasks.complete_task, methods=POST)
console.add_url_rule("/tasks/<task_id>/claim", view_func=tasks.claim, methods=POST)
console.add_url_rule("/tasks/<task_id>/unclaim", view_func=tasks.unclaim, methods=POST)
console.add_url_rule("/tickets/new", view_func=tickets.new_ticket, methods=["GET", "POST"])
console.add_url_rule("/tickets/<number>", view_func=tickets.ticket_page, methods=GET)
console.add_url_rule("/uploads/<name>", view_func=tasks.upload, methods=GET)
console.add_url_rule("/notifications", view_func=notifications.notifications, methods=GET)
console.add_url_rule("/notifications/<int:notification_id>/open", view_func=notifications.open_notification,
                     methods=POST)
console.add_url_rule("/notifications/read", view_func=notifications.read_all, methods=POST)
