"""The front desk's knowledge base (知识库): answers to common consultations, written by supervisors and found by
their keywords as an agent types a caller's question; and the quick replies (常用话术) agents insert in notes.

The base is small (hundreds of answers, not millions), so a search reads the active answers of the caller's
project and scores them in Python: a keyword found in the typed text (Chinese has no spaces, so words are
matched as substrings of the text, not split from it), a typed fragment of a keyword, and the title's
character pairs (bigrams) found in the text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from app.extensions import db
from app.models import AuditEvent, Project
from app.models.knowledge import KnowledgeAnswer, QuickReply
from app.services.access import Actor, may_edit_knowledge
from app.services.errors import ForbiddenError, InvalidFormError, NotFoundError, Text, msg
from app.services.people.organisation import visible_projects

LIMITS = {"title": 120, "keywords": 400, "answer": 4000, "category": 40}
REPLY_LIMITS = {"title": 80, "body": 1000}
MAX_ANSWERS = 1000  # what one search reads at most
SEPARATORS = re.compile(r"[,，、;；/\s]+")
MIN_SCORE = 3


@dataclass(frozen=True)
class Match:
    answer: KnowledgeAnswer
    score: int
    matched: tuple[str, ...]  # the keywords found in the text


# --- reading ---------------------------------------------------------------------------------------------


def list_answers(*, user: Actor, include_retired: bool = False) -> list[KnowledgeAnswer]:
    """The answers that apply to the user's projects (all when not limited), by category and title."""
    query = select(KnowledgeAnswer).order_by(KnowledgeAnswer.category, KnowledgeAnswer.title).limit(MAX_ANSWERS)
    if not include_retired:
        query = query.where(KnowledgeAnswer.retired_at.is_(None))
    allowed = visible_projects(user)
    return [answer for answer in db.session.scalars(query) if _applies(answer, allowed)]


def get_answer(answer_id: int, *, user: Actor) -> KnowledgeAnswer:
    """One answer; NotFound when there is none or it applies to none of the user's projects."""
    answer = db.session.get(KnowledgeAnswer, answer_id)
    if answer is None or not _applies(answer, visible_projects(user)):
        raise NotFoundError(msg("no answer %(number)s", number=answer_id))
    return answer


def search_answers(text: str, *, user: Actor, project_key: str | None = None, limit: int = 5) -> list[Match]:
    """The active answers whose keywords or title match what the agent typed, best first.

    ``project_key`` narrows to the answers of that project (and those for every project).
    """
    typed = _normal(text)
    if len(typed) < 2:
        return []
    allowed = visible_projects(user)
    if project_key and (allowed is None or project_key in allowed):
        allowed = {project_key}
    matches = []
    for answer in db.session.scalars(select(KnowledgeAnswer).where(KnowledgeAnswer.retired_at.is_(None))
                                     .order_by(KnowledgeAnswer.id).limit(MAX_ANSWERS)):
        if _applies(answer, allowed):
            match = _score(answer, typed)
            if match.score >= MIN_SCORE:
                matches.append(match)
    return sorted(matches, key=lambda match: (-match.score, match.answer.title))[:limit]


def keywords_of(answer: KnowledgeAnswer) -> list[str]:
    return [word for word in (_normal(part) for part in SEPARATORS.split(answer.keywords or "")) if word]


def _applies(answer: KnowledgeAnswer, allowed: Collection[str] | None) -> bool:
    """An answer for every project applies everywhere; one for some projects, to users of those."""
    return not answer.project_keys or allowed is None or bool(set(answer.project_keys) & set(allowed))


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip().lower())


def _bigrams(text: str) -> set[str]:
    compact = re.sub(r"[\W_]+", "", text)
    return {compact[i:i + 2] for i in range(len(compact) - 1)}


def _score(answer: KnowledgeAnswer, typed: str) -> Match:
    score, matched = 0, []
    for word in keywords_of(answer):
        if word in typed:  # the caller's question contains the keyword: "请问物业费怎么交" holds "物业费"
            score += 10 + len(word)
            matched.append(word)
        elif len(typed) >= 2 and typed in word:  # the agent is still typing it: "物业" of "物业费"
            score += 4
    shared = _bigrams(_normal(answer.title)) & _bigrams(typed)
    if len(shared) >= 2:
        score += 2 * len(shared)
    return Match(answer, score, tuple(matched))


# --- writing (supervisors) ----------------------------------------------------------------------------------


def save_answer(answer_id: int | None, fields: Mapping[str, Any], *, user: Actor, now: datetime) -> KnowledgeAnswer:
    """Create (``answer_id`` None) or change an answer; raise Forbidden, NotFound or InvalidForm (by field)."""
    _require_editor(user)
    answer = KnowledgeAnswer() if answer_id is None else _editable(answer_id, user)
    values = _checked_answer(fields, user)
    for name, value in values.items():
        setattr(answer, name, value)
    _save(answer, "knowledge_answer_saved", user=user, now=now)
    return answer


def retire_answer(answer_id: int, *, user: Actor, now: datetime, retired: bool = True) -> KnowledgeAnswer:
    """Retire an answer (no longer offered, kept for the record), or bring it back."""
    _require_editor(user)
    answer = _editable(answer_id, user)
    answer.retired_at = now if retired else None
    answer.updated_at, answer.updated_by_id = now, user.id
    _audit("knowledge_answer_retired" if retired else "knowledge_answer_restored", user, now,
           {"id": answer.id, "title": answer.title})
    db.session.commit()
    return answer


def _require_editor(user: Actor) -> None:
    if not may_edit_knowledge(user):
        raise ForbiddenError(msg("only supervisors edit the knowledge base and the quick replies"))


def _editable(answer_id: int, user: Actor) -> KnowledgeAnswer:
    """A limited supervisor edits only the answers of their own projects (not the company-wide ones)."""
    answer = get_answer(answer_id, user=user)
    allowed = visible_projects(user)
    if allowed is not None and (not answer.project_keys or not set(answer.project_keys) <= allowed):
        raise ForbiddenError(msg("this answer also applies to projects you do not work on"))
    return answer


def _checked_answer(fields: Mapping[str, Any], user: Actor) -> dict[str, Any]:
    values = {name: str(fields.get(name) or "").strip() for name in LIMITS}
    errors = _text_errors(values, LIMITS, required=("title", "answer"))
    projects = _checked_projects(fields.get("project_keys") or [], user, errors)
    if errors:
        raise InvalidFormError(msg("Please correct the marked fields."), errors=errors)
    words = [word for word in dict.fromkeys(SEPARATORS.split(values["keywords"])) if word]
    return {**values, "keywords": "，".join(words), "project_keys": projects}


def _checked_projects(given: Any, user: Actor, errors: dict[str, Text]) -> list[str]:
    keys = sorted({str(key) for key in ([given] if isinstance(given, str) else given) if key})
    known = set(db.session.scalars(select(Project.key).where(Project.key.in_(keys)))) if keys else set()
    allowed = visible_projects(user)
    if set(keys) - known:
        errors["project_keys"] = msg("unknown project")
    elif allowed is not None and (not keys or set(keys) - allowed):
        errors["project_keys"] = msg("choose among your own projects")
    return keys


# --- quick replies --------------------------------------------------------------------------------------------


def list_replies(limit: int = 200) -> list[QuickReply]:
    return list(db.session.scalars(select(QuickReply).order_by(QuickReply.title, QuickReply.id).limit(limit)))


def save_reply(reply_id: int | None, fields: Mapping[str, Any], *, user: Actor, now: datetime) -> QuickReply:
    """Create or change a quick reply; raise Forbidden, NotFound or InvalidForm (by field)."""
    _require_editor(user)
    values = {name: str(fields.get(name) or "").strip() for name in REPLY_LIMITS}
    errors = _text_errors(values, REPLY_LIMITS, required=tuple(REPLY_LIMITS))
    if errors:
        raise InvalidFormError(msg("Please correct the marked fields."), errors=errors)
    reply = QuickReply() if reply_id is None else _reply(reply_id)
    reply.title, reply.body = values["title"], values["body"]
    _save(reply, "quick_reply_saved", user=user, now=now)
    return reply


def delete_reply(reply_id: int, *, user: Actor, now: datetime) -> None:
    _require_editor(user)
    reply = _reply(reply_id)
    _audit("quick_reply_deleted", user, now, {"id": reply.id, "title": reply.title})
    db.session.execute(delete(QuickReply).where(QuickReply.id == reply_id))
    db.session.commit()


def _reply(reply_id: int) -> QuickReply:
    reply = db.session.get(QuickReply, reply_id)
    if reply is None:
        raise NotFoundError(msg("no quick reply %(number)s", number=reply_id))
    return reply


def _text_errors(values: Mapping[str, str], limits: Mapping[str, int], *, required: tuple[str, ...]) -> dict[str, Text]:
    """A required field left empty, or a text longer than its limit (said with its length), by field."""
    errors: dict[str, Text] = {}
    for name, limit in limits.items():
        if name in required and not values[name]:
            errors[name] = msg("required")
        elif len(values[name]) > limit:
            errors[name] = msg("at most %(limit)s characters (now %(length)s)", limit=limit, length=len(values[name]))
    return errors


def _save(row: KnowledgeAnswer | QuickReply, action: str, *, user: Actor, now: datetime) -> None:
    """Stamp, add when new, audit and commit: one transaction."""
    row.updated_at, row.updated_by_id = now, user.id
    if row.id is None:
        db.session.add(row)
    db.session.flush()
    _audit(action, user, now, {"id": row.id, "title": row.title})
    db.session.commit()


def _audit(action: str, user: Actor, now: datetime, data: dict[str, Any]) -> None:
    """Changes to what agents read out are recorded in the audit log (no instance)."""
    db.session.add(AuditEvent(instance_id=None, actor_id=user.id, action=action, data=data, at=now))
