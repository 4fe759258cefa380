"""The designer's route table: every URL under /designer and the view that answers it.

Every route is for the designer roles only (``services.access.may_deploy``, checked by
``web.context.require`` on each view). The editor pages (``editor``) talk to JSON endpoints (drafts,
checks, deploy) with the session's CSRF token in ``X-CSRFToken``; a refused JSON request gets its error
body from ``web.errors``. The history of a process is ``versions``. The views never import this module.
"""

from __future__ import annotations

from flask import Blueprint

from app.web.designer import editor, versions

designer = Blueprint("designer", __name__, url_prefix="/designer")

GET, POST = ["GET"], ["POST"]

designer.add_url_rule("/", view_func=editor.home, methods=GET)
designer.add_url_rule("/files/<name>", view_func=editor.edit, methods=GET)
designer.add_url_rule("/files/<name>/download", view_func=editor.download, methods=GET)
designer.add_url_rule("/files/<name>/draft", view_func=editor.save, methods=POST)
designer.add_url_rule("/files/<name>/discard", view_func=editor.discard, methods=POST)
designer.add_url_rule("/deploy", view_func=editor.deploy, methods=POST)
designer.add_url_rule("/deploy-drafts", view_func=editor.deploy_from_home, methods=POST)
designer.add_url_rule("/check", view_func=editor.check, methods=POST)
designer.add_url_rule("/forms/new", view_func=editor.create_form, methods=POST)
designer.add_url_rule("/forms/preview", view_func=editor.preview, methods=POST)
designer.add_url_rule("/import", view_func=editor.import_files, methods=POST)
designer.add_url_rule("/processes/<process_id>", view_func=versions.process_history, methods=GET)
designer.add_url_rule("/processes/<process_id>/diff", view_func=versions.diff, methods=GET)
designer.add_url_rule("/processes/<process_id>/versions/<int:version>/files/<name>",
                      view_func=versions.version_file, methods=GET)
designer.add_url_rule("/processes/<process_id>/versions/<int:version>/rollback", view_func=versions.rollback,
                      methods=POST)
