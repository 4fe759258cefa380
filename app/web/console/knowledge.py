"""The knowledge base (知识库) and the quick replies (常用话术): every staff member reads them and the intake page
searches them as the description is typed; supervisors write them."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app.services.access import may_edit_knowledge
from app.services.errors import InvalidFormError
from app.services.people.organisation import projects_for
from app.services.work import knowledge as knowledge_service
from app.web.context import me, project_name, require, runtime
from app.web.errors import status_of
from app.web.i18n import said_errors

SEARCH_RESULTS = 5
EXCERPT = 160


@login_required
def knowledge_list() -> str:
    editor = may_edit_knowledge(me())
    answers = knowledge_service.list_answers(user=me(), include_retired=editor and request.args.get("retired") == "1")
    return render_template("knowledge/list.html", answers=answers, may_edit=editor,
                           showing_retired=request.args.get("retired") == "1")


@login_required
def knowledge_answer(answer_id: int) -> str:
    answer = knowledge_service.get_answer(answer_id, user=me())
    return render_template("knowledge/answer.html", answer=answer, may_edit=may_edit_knowledge(me()),
                           keywords=knowledge_service.keywords_of(answer))


@require(may_edit_knowledge)
def edit_answer(answer_id: int | None = None) -> Any:
    answer = knowledge_service.get_answer(answer_id, user=me()) if answer_id is not None else None
    if request.method == "GET":
        values = ({"title": answer.title, "keywords": answer.keywords, "answer": answer.answer,
                   "category": answer.category, "project_keys": answer.project_keys} if answer else {})
        return _render_form(answer_id, values, {})
    values = {**request.form.to_dict(), "project_keys": request.form.getlist("project_keys")}
    try:
        saved = knowledge_service.save_answer(answer_id, values, user=me(), now=runtime().clock.now())
    except InvalidFormError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _render_form(answer_id, values, said_errors(exc.errors), status=status_of(exc))
    flash(_("Answer saved."), "success")
    return redirect(url_for("console.knowledge_answer", answer_id=saved.id))


def _render_form(answer_id: int | None, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    categories = sorted({answer.category for answer in knowledge_service.list_answers(user=me()) if answer.category})
    return render_template("knowledge/edit.html", answer_id=answer_id, values=values, errors=errors,
                           projects=projects_for(me()), limits=knowledge_service.LIMITS, categories=categories), status


@require(may_edit_knowledge)
def retire_answer(answer_id: int) -> Response:
    retired = request.form.get("retired", "1") == "1"
    knowledge_service.retire_answer(answer_id, user=me(), now=runtime().clock.now(), retired=retired)
    flash(_("Answer retired: agents no longer see it.") if retired else _("Answer offered again."), "success")
    return redirect(url_for("console.knowledge_answer", answer_id=answer_id))


@login_required
def search_knowledge() -> Response:
    """What the intake page shows beside the description: the best answers for the typed text (JSON)."""
    text = request.args.get("q", "")[:500]
    matches = knowledge_service.search_answers(text, user=me(), project_key=request.args.get("project") or None,
                                               limit=SEARCH_RESULTS)
    return jsonify({"answers": [{
        "id": match.answer.id, "title": match.answer.title, "category": match.answer.category,
        "answer": match.answer.answer, "excerpt": _excerpt(match.answer.answer), "matched": list(match.matched),
        "projects": [project_name(key) for key in match.answer.project_keys],
        "url": url_for("console.knowledge_answer", answer_id=match.answer.id)} for match in matches]})


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + "…"


# --- quick replies -------------------------------------------------------------------------------------------


@login_required
def quick_replies() -> Any:
    return _render_replies({}, {})


@require(may_edit_knowledge)
def save_quick_reply(reply_id: int | None = None) -> Any:
    values = request.form.to_dict()
    try:
        knowledge_service.save_reply(reply_id, values, user=me(), now=runtime().clock.now())
    except InvalidFormError as exc:
        flash(_("Please correct the marked fields."), "danger")
        return _render_replies(values, said_errors(exc.errors), editing=reply_id, status=422)
    flash(_("Quick reply saved."), "success")
    return redirect(url_for("console.quick_replies"))


@require(may_edit_knowledge)
def delete_quick_reply(reply_id: int) -> Response:
    knowledge_service.delete_reply(reply_id, user=me(), now=runtime().clock.now())
    flash(_("Quick reply deleted."), "success")
    return redirect(url_for("console.quick_replies"))


def _render_replies(values: dict[str, Any], errors: dict[str, str], *, editing: int | None = None,
                    status: int = 200) -> Any:
    return render_template("knowledge/quick_replies.html", replies=knowledge_service.list_replies(),
                           may_edit=may_edit_knowledge(me()), values=values, errors=errors, editing=editing,
                           limits=knowledge_service.REPLY_LIMITS), status


@login_required
def quick_replies_data() -> Response:
    """The quick replies a note field's picker offers (JSON)."""
    return jsonify({"replies": [{"id": reply.id, "title": reply.title, "body": reply.body}
                                for reply in knowledge_service.list_replies()]})
