"""The staff console's route table: every URL of the console and the view that answers it.

Pages, not JSON. The views live in ``auth``, ``inbox``, ``tasks``, ``tickets`` and ``notifications`` and
never import this module; the template helpers every page uses (``web.templating``) register here, app-wide.
"""

from __future__ import annotations

from flask import Blueprint

from app.web.console import (
    account,
    auth,
    callbacks,
    handover,
    inbox,
    knowledge,
    notices_admin,
    notifications,
    owner_signature,
    reception_log,
    surveys,
    tasks,
    ticket_search,
    tickets,
    wallboard,
)
from app.web.templating import render_markdown, template_helpers

console = Blueprint("console", __name__)
console.add_app_template_filter(render_markdown, "markdown")
console.app_context_processor(template_helpers)
console.app_context_processor(wallboard.menu_helpers)
console.app_context_processor(notices_admin.menu_helpers)

GET, POST = ["GET"], ["POST"]

console.add_url_rule("/login", view_func=auth.login, methods=["GET", "POST"])
console.add_url_rule("/logout", view_func=auth.logout, methods=POST)
console.add_url_rule("/language", view_func=auth.language, methods=POST)
console.add_url_rule("/account", view_func=account.account, methods=GET)
console.add_url_rule("/account/password", view_func=account.change_password, methods=POST)
console.add_url_rule("/account/tokens", view_func=account.new_token, methods=POST)
console.add_url_rule("/account/tokens/<int:token_id>/revoke", view_func=account.revoke, endpoint="revoke_token",
                     methods=POST)
console.add_url_rule("/", view_func=inbox.home, methods=GET)
console.add_url_rule("/tasks/<task_id>", view_func=tasks.task_page, methods=GET)
console.add_url_rule("/tasks/<task_id>/hand-over", view_func=tasks.hand_over, methods=POST)
console.add_url_rule("/tasks/<task_id>", view_func=tasks.complete_task, methods=POST)
console.add_url_rule("/tasks/<task_id>/claim", view_func=tasks.claim, methods=POST)
console.add_url_rule("/tasks/<task_id>/ask-owner-to-sign", view_func=owner_signature.ask_owner_to_sign, methods=POST)
console.add_url_rule("/tasks/<task_id>/unclaim", view_func=tasks.unclaim, methods=POST)
console.add_url_rule("/tickets/new", view_func=tickets.new_ticket, methods=["GET", "POST"])
console.add_url_rule("/tickets/search", view_func=ticket_search.search_tickets, methods=GET)
console.add_url_rule("/tickets/<number>", view_func=tickets.ticket_page, methods=GET)
console.add_url_rule("/tickets/<number>/wait", view_func=tickets.act_on_wait, methods=POST)
console.add_url_rule("/uploads/<name>", view_func=tasks.upload, methods=GET)
console.add_url_rule("/notifications", view_func=notifications.notifications, methods=GET)
console.add_url_rule("/notifications/<int:notification_id>/open", view_func=notifications.open_notification,
                     methods=POST)
console.add_url_rule("/notifications/read", view_func=notifications.read_all, methods=POST)
# The supervisor's wallboard, the daily reception log and its check; the knowledge base and quick replies.
console.add_url_rule("/wallboard", view_func=wallboard.wallboard_page, methods=GET)
console.add_url_rule("/wallboard/data", view_func=wallboard.wallboard_data, methods=GET)
console.add_url_rule("/reception-log", view_func=reception_log.reception_log, methods=GET)
console.add_url_rule("/reception-log/export.<kind>", view_func=reception_log.export_reception_log, methods=GET)
console.add_url_rule("/reception-log/check", view_func=reception_log.check_reception_log, methods=POST)
console.add_url_rule("/knowledge", view_func=knowledge.knowledge_list, methods=GET)
console.add_url_rule("/knowledge/search", view_func=knowledge.search_knowledge, methods=GET)
console.add_url_rule("/knowledge/new", view_func=knowledge.edit_answer, endpoint="new_answer", methods=["GET", "POST"])
console.add_url_rule("/knowledge/<int:answer_id>", view_func=knowledge.knowledge_answer, methods=GET)
console.add_url_rule("/knowledge/<int:answer_id>/edit", view_func=knowledge.edit_answer, methods=["GET", "POST"])
console.add_url_rule("/knowledge/<int:answer_id>/retire", view_func=knowledge.retire_answer, methods=POST)
console.add_url_rule("/quick-replies", view_func=knowledge.quick_replies, methods=GET)
console.add_url_rule("/quick-replies", view_func=knowledge.save_quick_reply, methods=POST)
console.add_url_rule("/quick-replies/data", view_func=knowledge.quick_replies_data, methods=GET)
console.add_url_rule("/quick-replies/<int:reply_id>", view_func=knowledge.save_quick_reply, methods=POST)
console.add_url_rule("/quick-replies/<int:reply_id>/delete", view_func=knowledge.delete_quick_reply, methods=POST)
# Planned callbacks (定期回访): the plans, a month planned, a plan cancelled.
console.add_url_rule("/callbacks", view_func=callbacks.callbacks, methods=GET)
console.add_url_rule("/callbacks/plan", view_func=callbacks.plan_callbacks, methods=POST)
console.add_url_rule("/callbacks/<int:plan_id>/cancel", view_func=callbacks.cancel_callback_plan, methods=POST)
# Notices to owners (通知): drafted here, approved on the task page, then their delivery and print PDFs.
console.add_url_rule("/notices", view_func=notices_admin.notices_list, methods=GET)
console.add_url_rule("/notices/new", view_func=notices_admin.new_notice, methods=["GET", "POST"])
console.add_url_rule("/notices/<int:notice_id>", view_func=notices_admin.notice_page, methods=GET)
console.add_url_rule("/notices/<int:notice_id>/<sheet>.pdf", view_func=notices_admin.notice_pdf, methods=GET)
console.add_url_rule("/notices/<int:notice_id>/units/<int:recipient_id>/by-hand", view_func=notices_admin.mark_by_hand,
                     methods=POST)
console.add_url_rule("/notices/<int:notice_id>/units/<int:recipient_id>/resend", view_func=notices_admin.resend,
                     methods=POST)
# Surveys (客户活动调查): sent by text link, results per question, exports.
console.add_url_rule("/surveys", view_func=surveys.surveys_page, methods=GET)
console.add_url_rule("/surveys", view_func=surveys.send_survey, methods=POST)
console.add_url_rule("/surveys/<int:survey_id>", view_func=surveys.survey_results, methods=GET)
console.add_url_rule("/surveys/<int:survey_id>/export.<kind>", view_func=surveys.export_survey, methods=GET)
# Handover defects (收楼遗留问题): progress per project and building, a batch imported, one unit's defects.
console.add_url_rule("/handover", view_func=handover.handover_progress, methods=GET)
console.add_url_rule("/handover/import", view_func=handover.import_handover_batch, methods=POST)
console.add_url_rule("/handover/units/<int:unit_id>", view_func=handover.handover_unit_page, methods=GET)
