"""Surveys (客户活动调查): a form of ``forms/`` or of the designer's form editor, texted as a personal link to the
owners of a project, a building or some units, answered on the owner pages without any other sign-in.

The link's token is signed and bound to the survey and the owner's phone; the first answer counts and a second
one changes nothing (the page says it was submitted). Results are counted per question and exported.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Project, Unit
from app.models.outreach import Survey, SurveyRecipient
from app.services.access import Actor, may_watch_wallboard
from app.services.definitions.deploy import read_definition_dir
from app.services.definitions.drafts import list_files, open_file, schema_errors
from app.services.errors import ConflictError, ForbiddenError, InvalidFormError, NotFoundError, msg
from app.services.jobs.notifications import queue_text
from app.services.people.organisation import visible_projects
from app.services.work.forms import clean_submission

FORM_PREFIX = "survey_"
TOKEN_SALT = "kefu-survey-link"  # noqa: S105 - a salt that separates these tokens from others, not a secret
UPLOAD_WIDGETS = ("photo", "signature", "user")  # no upload nor staff picker on a page without sign-in
TEXT_ANSWERS_SHOWN = 50


@dataclass(frozen=True)
class SurveyRequest:
    title: str
    form_key: str
    project_key: str
    building: str | None = None
    unit_codes: tuple[str, ...] = ()
    closes_on: str = ""


# --- the forms a survey may use -----------------------------------------------------------------------------

def survey_forms(forms_dir: Path) -> dict[str, dict[str, Any]]:
    """``survey_*.json``: the shipped ones in ``forms_dir``, then the designer's (a draft wins), valid ones only."""
    texts = {name: content.decode("utf-8") for name, content in read_definition_dir(forms_dir).items()
             if name.startswith(FORM_PREFIX) and name.endswith(".json")}
    for file in list_files():
        if file.kind == "form" and file.name.startswith(FORM_PREFIX):
            texts[file.name] = open_file(file.name).content
    forms = {}
    for name, text in sorted(texts.items()):
        schema, errors = schema_errors(text)
        if schema is not None and not errors:
            forms[name] = schema
    return forms


def form_title(form: Mapping[str, Any], fallback: str) -> str:
    return str(form.get("title") or fallback)


# --- sending -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    survey_id: int
    recipients: int
    texted: int


def require_surveyor(user: Actor) -> None:
    """Raise Forbidden unless the user sends and reads surveys (the CS supervisor and those above)."""
    if not may_watch_wallboard(user):
        raise ForbiddenError(msg("your role may not do this"))


def send_survey(asked: SurveyRequest, *, forms_dir: Path, user: Actor, now: datetime, secret: str,
                link_for: Callable[[str], str]) -> Sent:
    """Create the survey and text each owner (one text per phone) their link; one transaction.

    ``link_for(token)`` is the page's address. Raise Forbidden (a role that does not send surveys, a project
    the user does not work on), InvalidForm (title, form, period, nobody there), NotFound (project).
    """
    require_surveyor(user)
    form = _checked_request(asked, forms_dir)
    project = _project(asked.project_key, user)
    owners = _owners(asked)
    survey = Survey(title=asked.title.strip(), form_key=asked.form_key, form=form, project_key=project.key,
                    building=asked.building or None, closes_on=_closing_day(asked.closes_on),
                    created_by_id=user.id, created_at=now)
    db.session.add(survey)
    db.session.flush()
    texted = 0
    for phone, unit_code in owners.items():
        sent = queue_text(phone, "survey_link", {"project": project.name,
                                                  "url": link_for(survey_token(survey.id, phone, secret))}, now=now)
        db.session.add(SurveyRecipient(survey_id=survey.id, phone=phone, unit_code=unit_code, texted=sent))
        texted += sent
    db.session.commit()
    return Sent(survey.id, len(owners), texted)


def _checked_request(asked: SurveyRequest, forms_dir: Path) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if not asked.title.strip() or len(asked.title.strip()) > 120:
        errors["title"] = msg("a title of 1 to 120 characters")
    form = survey_forms(forms_dir).get(asked.form_key)
    if form is None:
        errors["form_key"] = msg("choose a survey form")
    elif any((spec.get("x-widget") in UPLOAD_WIDGETS) for spec in (form.get("properties") or {}).values()):
        errors["form_key"] = msg("a survey form may not ask for photos, signatures or staff")
    try:
        _closing_day(asked.closes_on)
    except ValueError:
        errors["closes_on"] = msg("a date such as 2026-03-02")
    if errors:
        raise InvalidFormError(msg("check the survey"), errors=errors)
    assert form is not None
    return form


def _closing_day(text: str) -> date | None:
    return date.fromisoformat(text) if text.strip() else None


def _project(project_key: str, user: Actor) -> Project:
    project = db.session.get(Project, project_key)
    if project is None:
        raise NotFoundError(msg("no project %(project)s", project=project_key))
    allowed = visible_projects(user)
    if allowed is not None and project_key not in allowed:
        raise ForbiddenError(msg("you do not work on project %(project)s", project=project_key))
    return project


def _owners(asked: SurveyRequest) -> dict[str, str]:
    """Phone → first unit: the owners (with a phone) of the project, narrowed to the building or the units."""
    query = select(Unit.owner_phone, Unit.code).where(
        Unit.project_key == asked.project_key, Unit.is_common_area.is_(False), Unit.owner_phone.is_not(None))
    if asked.building:
        query = query.where(Unit.building == asked.building)
    if asked.unit_codes:
        query = query.where(Unit.code.in_(asked.unit_codes))
    owners: dict[str, str] = {}
    for phone, code in db.session.execute(query.order_by(Unit.code)):
        owners.setdefault(str(phone), code)
    if not owners:
        raise InvalidFormError(msg("no owner with a phone number there"),
                               errors={"building": msg("no owner with a phone number there")})
    return owners


# --- the owner's link -----------------------------------------------------------------------------------------

def survey_token(survey_id: int, phone: str, secret: str) -> str:
    return URLSafeSerializer(secret, salt=TOKEN_SALT).dumps({"s": survey_id, "p": phone})


@dataclass(frozen=True)
class Invitation:
    survey: Survey
    recipient: SurveyRecipient

    @property
    def answered(self) -> bool:
        return self.recipient.answered_at is not None


def invitation(token: str, *, secret: str) -> Invitation:
    """The survey and recipient a link names; raise NotFound for a link that was not signed here or is gone."""
    try:
        payload = URLSafeSerializer(secret, salt=TOKEN_SALT).loads(token)
    except BadSignature as exc:
        callback = _callback_invitation(token)  # a planned callback's link: random, kept hashed
        if callback is None:
            raise NotFoundError(msg("this survey link is not valid")) from exc
        return callback
    recipient = db.session.scalar(select(SurveyRecipient).where(
        SurveyRecipient.survey_id == int(payload.get("s", 0)), SurveyRecipient.phone == str(payload.get("p", ""))))
    survey = db.session.get(Survey, recipient.survey_id) if recipient else None
    if recipient is None or survey is None:
        raise NotFoundError(msg("this survey link is not valid"))
    return Invitation(survey, recipient)


def _callback_invitation(token: str) -> Invitation | None:
    recipient = db.session.scalar(select(SurveyRecipient).where(
        SurveyRecipient.link_hash == hashlib.sha256(token.encode()).hexdigest()))
    survey = db.session.get(Survey, recipient.survey_id) if recipient else None
    return Invitation(survey, recipient) if recipient and survey else None


def answer_survey(token: str, answers: Any, *, secret: str, now: datetime, today: date) -> bool:
    """Keep the owner's answers; False when they had answered already (the first answer counts).

    Raise NotFound (link), Conflict (the survey closed), InvalidForm (answers the form refuses).
    """
    invited = invitation(token, secret=secret)
    if invited.answered:
        return False
    if invited.survey.closes_on is not None and today > invited.survey.closes_on:
        raise ConflictError(msg("this survey closed on %(day)s", day=invited.survey.closes_on.isoformat()))
    clean = clean_submission(invited.survey.form, answers)
    written = db.session.connection().execute(update(SurveyRecipient).where(
        SurveyRecipient.id == invited.recipient.id, SurveyRecipient.answered_at.is_(None)).values(
        answers=clean, answered_at=now)).rowcount
    db.session.commit()
    return bool(written)


# --- results ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuestionResult:
    name: str
    title: str  # "中文 / English"
    kind: str  # choice | text
    counts: list[tuple[str, int]] = field(default_factory=list)  # (choice title, answers), in the form's order
    texts: list[str] = field(default_factory=list)  # the latest free answers

    @property
    def answered(self) -> int:
        return sum(count for _, count in self.counts) if self.kind == "choice" else len(self.texts)


@dataclass(frozen=True)
class Results:
    survey: Survey
    sent: int
    texted: int
    answered: int
    questions: list[QuestionResult]


def surveys(*, user: Actor, limit: int = 100, offset: int = 0) -> list[tuple[Survey, int, int]]:
    """The surveys of the user's projects, newest first: (survey, recipients, answered); ``limit`` of them from
    the ``offset``-th."""
    counts = (select(SurveyRecipient.survey_id, func.count().label("sent"),
                     func.count(SurveyRecipient.answered_at).label("answered"))
              .group_by(SurveyRecipient.survey_id).subquery())
    query = (select(Survey, counts.c.sent, counts.c.answered).outerjoin(counts, counts.c.survey_id == Survey.id)
             .where(Survey.callback_plan_id.is_(None))  # a planned callback's survey shows on /callbacks
             .order_by(Survey.id.desc()).limit(limit).offset(offset))
    allowed = visible_projects(user)
    if allowed is not None:
        query = query.where(Survey.project_key.in_(allowed))
    return [(survey, int(sent or 0), int(answered or 0)) for survey, sent, answered in db.session.execute(query)]


def survey_results(survey_id: int, *, user: Actor) -> Results:
    """Counts per choice of each question (booleans as yes/no), the latest free answers; raise NotFound."""
    survey = _visible_survey(survey_id, user)
    rows = db.session.execute(select(SurveyRecipient.texted, SurveyRecipient.answers)
                              .where(SurveyRecipient.survey_id == survey.id)).all()
    answers = [given for _, given in rows if given is not None]
    questions = [_question(name, spec, answers) for name, spec in (survey.form.get("properties") or {}).items()
                 if not spec.get("readOnly")]
    return Results(survey, len(rows), sum(1 for texted, _ in rows if texted), len(answers), questions)


def _visible_survey(survey_id: int, user: Actor) -> Survey:
    """A survey sent from /surveys of the user's projects; raise Forbidden (role) or NotFound (none, another
    project's, or a planned callback's: its answers are that call's outcome, read on /callbacks)."""
    require_surveyor(user)
    survey = db.session.get(Survey, survey_id)
    allowed = visible_projects(user)
    if survey is None or survey.callback_plan_id is not None or (
            allowed is not None and survey.project_key not in allowed):
        raise NotFoundError(msg("no survey %(survey)s", survey=survey_id))
    return survey


def _choices(spec: Mapping[str, Any]) -> list[tuple[Any, str]]:
    if spec.get("type") == "boolean":
        return [(True, "是 / Yes"), (False, "否 / No")]
    return [(choice.get("const"), str(choice.get("title") or choice.get("const"))) for choice in spec.get("oneOf", [])]


def _question(name: str, spec: Mapping[str, Any], answers: list[dict[str, Any]]) -> QuestionResult:
    title = str(spec.get("title") or name)
    choices = _choices(spec)
    given = [answer[name] for answer in answers if name in answer]
    if choices:
        tally = Counter(json.dumps(value) for value in given)
        return QuestionResult(name, title, "choice", [(label, tally[json.dumps(value)]) for value, label in choices])
    if spec.get("type") in ("integer", "number"):
        tally = Counter(given)
        return QuestionResult(name, title, "choice", [(str(value), tally[value]) for value in sorted(tally)])
    return QuestionResult(name, title, "text", texts=[str(value) for value in given][-TEXT_ANSWERS_SHOWN:])


def results_table(survey_id: int, *, user: Actor, timezone: str,
                  label: Callable[[str], str]) -> tuple[list[str], list[list[Any]]]:
    """The answers one row per owner who answered, for CSV and XLSX: the unit, the time answered, then each
    question (the phone is left out: personal data); ``label`` picks one side of a "中文 / English" title."""
    survey = _visible_survey(survey_id, user)
    properties = {name: spec for name, spec in (survey.form.get("properties") or {}).items()
                  if not spec.get("readOnly")}
    header = [label("房号 / Unit"), label("提交时间 / Answered at"),
              *(label(str(spec.get("title") or name)) for name, spec in properties.items())]
    zone = ZoneInfo(timezone)
    rows = []
    for unit_code, answered_at, given in db.session.execute(
            select(SurveyRecipient.unit_code, SurveyRecipient.answered_at, SurveyRecipient.answers)
            .where(SurveyRecipient.survey_id == survey.id, SurveyRecipient.answered_at.is_not(None))
            .order_by(SurveyRecipient.unit_code)):
        choices = {name: dict(_choices(spec)) for name, spec in properties.items()}
        rows.append([unit_code, answered_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                     *(_cell(given.get(name), choices[name], label) for name in properties)])
    return header, rows


def _cell(value: Any, choices: Mapping[Any, str], label: Callable[[str], str]) -> Any:
    if value is None:
        return ""
    if value in choices:
        return label(choices[value])
    return value
