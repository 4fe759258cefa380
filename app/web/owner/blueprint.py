"""The owners' route table (/owner): every URL of the owners' pages and the view that answers it.

The views live in ``auth`` (sign-in by code or link, privacy notice, log out), ``pages`` (home, report,
a ticket's story, the owner's data) and ``buildings`` (what a building's QR code opens); they never
import this module.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from app.web.owner import answers, auth, buildings, notices, pages, survey

owner = Blueprint("owner", __name__, url_prefix="/owner",
                  template_folder=str(Path(__file__).resolve().parents[2] / "templates"))

owner.context_processor(pages.page_helpers)
owner.context_processor(notices.notice_helpers)
owner.context_processor(answers.answer_helpers)

GET, POST, BOTH = ["GET"], ["POST"], ["GET", "POST"]

owner.add_url_rule("/sign-in", view_func=auth.sign_in, methods=BOTH)
owner.add_url_rule("/sign-in/code", view_func=auth.check_code, methods=POST)
owner.add_url_rule("/l/<token>", view_func=auth.sign_in_with_link, methods=GET)
owner.add_url_rule("/sign-out", view_func=auth.sign_out, methods=POST)
owner.add_url_rule("/privacy", view_func=auth.privacy, methods=BOTH)
owner.add_url_rule("/", view_func=pages.home, methods=GET)
owner.add_url_rule("/report", view_func=pages.report, methods=BOTH)
owner.add_url_rule("/tickets/<number>", view_func=pages.ticket, methods=GET)
owner.add_url_rule("/tickets/<number>/photos/<name>", view_func=pages.photo, methods=GET)
owner.add_url_rule("/my-data", view_func=pages.my_data, methods=GET)
owner.add_url_rule("/my-data/export", view_func=pages.export_my_data, methods=POST)
owner.add_url_rule("/b/<project_key>/<building>", view_func=buildings.building, methods=GET)
owner.add_url_rule("/tickets/<number>/appointment/confirm", view_func=answers.confirm_appointment, methods=POST)
owner.add_url_rule("/tickets/<number>/appointment/move", view_func=answers.move_appointment, methods=BOTH)
owner.add_url_rule("/tickets/<number>/quote", view_func=answers.quote, methods=BOTH)
owner.add_url_rule("/tickets/<number>/sign", view_func=answers.sign, methods=BOTH)
owner.add_url_rule("/tickets/<number>/rate", view_func=answers.rate, methods=BOTH)
owner.add_url_rule("/s/<token>", view_func=survey.survey_page, methods=BOTH)  # a survey, by its texted link alone
owner.add_url_rule("/notices", view_func=notices.notices, methods=GET)
