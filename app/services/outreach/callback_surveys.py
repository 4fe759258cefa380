"""Planned callbacks by text or e-mail (回访方式：短信业务、电邮沟通): the survey link and the owner's answer.

When a planned callback's flow starts waiting for the owner's survey answer (the ``callback_survey_answered``
message of ``await_survey``: the plan's method is ``sms`` or ``email``), ``send_survey_link`` runs in that
step's transaction: it makes the call's survey (``survey_callback.json``, a survey of one owner, linked to the
plan) and sends its link by text (template ``callback_survey_link``, through the outbox and its retry) or by
e-mail. The link is a random token kept hashed: the worker that sends it holds no signing secret.

The owner answers on /owner with the link alone (``answer_callback_survey``): the first answer is the call's
outcome (reached, satisfaction, remarks) and is delivered to the flow, an issue raised opens a ticket linked to
the call, all in one transaction; a second answer changes nothing. Unanswered, the flow's timer hands the call
to an agent (``survey_unanswered``); an answer arriving after that is kept on the survey, and an issue it raises
still opens a ticket (noted on the callback's instance), but the call's outcome is the agent's.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from app.config import PROJECT_ROOT, public_base_url
from app.engine import EngineRunError, MessageNotAwaitedError, StepResult
from app.extensions import db
from app.models import ACTIVE_STATUSES, Bundle, ProcessInstance, Project
from app.models.outreach import CallbackCall, CallbackPlan, Survey, SurveyRecipient
from app.services.errors import ConflictError, msg
from app.services.jobs.notifications import queue_text, send_email
from app.services.jobs.sms_templates import words
from app.services.outreach.surveys import Invitation, survey_forms
from app.services.runtime import Runtime
from app.services.steps.plan import event_row, open_tasks_of, plan_error, plan_step, record_event, step_transaction
from app.services.steps.write import write_step
from app.services.work.after_step import StepDone, run_after_step
from app.services.work.forms import clean_submission
from app.services.work.instances import StartPlan, start_form
from app.services.work.tickets import RECEPTION, open_planned_ticket

PROCESS = "planned_callback"
SURVEY_MESSAGE = "callback_survey_answered"
SURVEY_FORM = "survey_callback.json"
TEMPLATE = "callback_survey_link"
ANSWER_FIELDS = ("satisfaction", "issue_raised", "issue_category", "issue_description", "remarks")


def link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def callback_survey_form(forms_dir: Path) -> dict[str, Any]:
    """The standard callback survey: the designer's copy when there is one, else the file of ``forms_dir``
    (the app's FORMS_DIR, ``Runtime.forms_dir``), else the shipped one."""
    form = survey_forms(forms_dir).get(SURVEY_FORM) or survey_forms(PROJECT_ROOT / "forms").get(SURVEY_FORM)
    if form is None:
        raise ConflictError(msg("form '%(form)s' does not exist", form=SURVEY_FORM))
    return form


# --- sending ----------------------------------------------------------------------------------------------------

def send_survey_link(rt: Runtime, instance_id: int, result: StepResult) -> None:
    """After a step of a planned callback: when the flow has just begun waiting for the owner's survey answer,
    send this call's link (once per call: the plan's surveys count the calls sent). In the step's transaction."""
    if SURVEY_MESSAGE not in result.awaited_messages:
        return
    plan = db.session.scalar(select(CallbackPlan).where(CallbackPlan.instance_id == instance_id))
    if plan is None:
        return
    number = int(result.data.get("callback_number") or 0)
    sent_before = db.session.scalar(select(func.count()).select_from(Survey)
                                    .where(Survey.callback_plan_id == plan.id)) or 0
    if sent_before > number:
        return
    now = rt.clock.now()
    project = db.session.get(Project, plan.project_key)
    survey = Survey(title=f"定期回访 {plan.unit_code} 第 {number + 1} 次", form_key=SURVEY_FORM,
                    form=callback_survey_form(rt.forms_dir), project_key=plan.project_key, building=None,
                    closes_on=None, callback_plan_id=plan.id, created_by_id=None, created_at=now)
    db.session.add(survey)
    db.session.flush()
    token = secrets.token_urlsafe(24)
    params = {"project": project.name if project else plan.project_key, "url": f"{public_base_url()}/owner/s/{token}"}
    address = str(result.data.get("owner_email") or "")
    if result.data.get("contact_method") == "email" and address:
        send_email(address, "物业服务回访", words(TEMPLATE, params), now=now)
        channel, delivered = "email", True
    else:
        channel, delivered = "sms", queue_text(plan.phone, TEMPLATE, params, now=now)
    db.session.add(SurveyRecipient(survey_id=survey.id, phone=plan.phone or "", unit_code=plan.unit_code,
                                   texted=delivered, link_hash=link_hash(token)))
    record_event(instance_id, "survey_sent", at=now, data={"channel": channel, "survey_id": survey.id,
                                                            "delivered": delivered})


# --- the owner's answer ------------------------------------------------------------------------------------------

def answer_callback_survey(rt: Runtime, invited: Invitation, answers: Any) -> bool:
    """Keep the owner's answer as the call's outcome; False when they had answered already (the first counts).

    The answer goes to the flow, the call is recorded and an issue raised opens a ticket linked to it, in one
    transaction. The flow may move between the answer's delivery and that transaction (its timer handing the
    call to an agent at that very moment): the answer is then given once more to the flow as it is now, and
    after a second lost race kept as a late answer, so the owner never meets a conflict. Raise InvalidForm
    (answers the form refuses, a ticket the intake refuses).
    """
    if invited.answered:
        return False
    clean = clean_submission(invited.survey.form, answers)
    for _attempt in range(2):
        try:
            return _keep_answer(rt, invited, clean, deliver=True)
        except ConflictError:
            continue  # the flow moved: read it again
    return _keep_answer(rt, invited, clean, deliver=False)


def _keep_answer(rt: Runtime, invited: Invitation, clean: Mapping[str, Any], *, deliver: bool) -> bool:
    """One try at the answer: delivered to the flow when it still waits for it (and ``deliver``), else kept as
    late (an agent has the call) or undelivered (the flow failed on it). Raise Conflict on a lost race."""
    now = rt.clock.now()
    plan = db.session.get(CallbackPlan, invited.survey.callback_plan_id, populate_existing=True)
    instance = db.session.get(ProcessInstance, plan.instance_id, populate_existing=True) \
        if plan and plan.instance_id else None
    result, missed = None, "survey_answered_late"
    if deliver and plan is not None and instance is not None and instance.status in ACTIVE_STATUSES \
            and _latest_survey_id(plan.id) == invited.survey.id:  # an older call's link answers no later call
        result, missed = _delivered(rt, instance, clean, now)
    with step_transaction():
        written = db.session.connection().execute(update(SurveyRecipient).where(
            SurveyRecipient.id == invited.recipient.id, SurveyRecipient.answered_at.is_(None)).values(
            answers=clean, answered_at=now)).rowcount
        if not written:
            return False
        if plan is not None and instance is not None and result is not None:
            _take_answer(rt, plan, instance, result, clean, invited.recipient.id)
        elif plan is not None and instance is not None:  # late or undelivered: the call's outcome is the agent's
            record_event(instance.id, missed, at=now, data={"survey_id": invited.survey.id})
            if clean.get("issue_raised"):  # but the issue the owner wrote is still followed
                open_issue_ticket(rt, plan, instance.id, clean, channel="online", heard="定期回访问卷中业主提出")
    return True


def _delivered(rt: Runtime, instance: ProcessInstance, clean: Mapping[str, Any],
               now: datetime) -> tuple[StepResult | None, str]:
    """The flow's step with the answer; else None and why: ``survey_answered_late`` (the flow no longer waits
    for it) or ``survey_answer_undelivered`` (the flow failed on it: the instance is in error, stored here)."""
    payload = {name: clean.get(name) for name in ANSWER_FIELDS}
    try:
        return rt.engine.deliver_message(instance.state, SURVEY_MESSAGE, payload), ""
    except MessageNotAwaitedError:
        return None, "survey_answered_late"  # an agent has the call now; the answer is kept on the survey
    except EngineRunError as exc:
        failed = plan_error(instance_id=instance.id, lock_version=instance.lock_version, error=exc.details, now=now)
        failed.events.append(event_row(instance.id, "error", at=now, data={"message": exc.details.message}))
        with step_transaction():
            write_step(failed)
        return None, "survey_answer_undelivered"


def _latest_survey_id(plan_id: int) -> int | None:
    return db.session.scalar(select(func.max(Survey.id)).where(Survey.callback_plan_id == plan_id))


def _take_answer(rt: Runtime, plan: CallbackPlan, instance: ProcessInstance, result: StepResult,
                 clean: Mapping[str, Any], recipient_id: int) -> None:
    """The flow's step, the call's row and the ticket of an issue raised (inside the caller's transaction)."""
    now = rt.clock.now()
    facts = rt.bundles.get(instance.spec_key)
    step, _still_open = plan_step(instance_id=instance.id, lock_version=instance.lock_version, result=result,
                                  facts=facts, now=now, open_tasks=open_tasks_of(instance.id),
                                  previous_timer_at=instance.next_timer_at)
    step.events.append(event_row(instance.id, "owner_answer", at=now,
                                 data={"message": SURVEY_MESSAGE, **{k: clean.get(k) for k in ANSWER_FIELDS}}))
    write_step(step)
    run_after_step(rt, StepDone(instance.id, facts.process_id, result, "message", message=SURVEY_MESSAGE))
    ticket_id = open_issue_ticket(rt, plan, instance.id, clean, channel="online", heard="定期回访问卷中业主提出") \
        if clean.get("issue_raised") else None
    db.session.execute(insert(CallbackCall).values(
        plan_id=plan.id, task_id=f"survey:{recipient_id}", method=str(result.data.get("contact_method") or "sms"),
        reached=True, satisfaction=clean.get("satisfaction"), issue=clean.get("issue_description"),
        remarks=clean.get("remarks"), ticket_id=ticket_id, done_by_id=None, done_at=now))
    if result.data.get("callback_done"):
        db.session.execute(update(CallbackPlan).where(CallbackPlan.id == plan.id).values(status="done"))


def open_issue_ticket(rt: Runtime, plan: CallbackPlan, instance_id: int, clean: Mapping[str, Any], *, channel: str,
                      heard: str, actor_id: int | None = None) -> int:
    """The ticket of an issue raised where no agent records a call (the owner's survey answer, channel online;
    a steward's visit, channel walk_in), opened as the owners' own pages open theirs; noted on the callback's
    instance. Raise InvalidForm when the intake form refuses it."""
    intake = issue_intake(plan, clean, channel=channel, heard=heard)
    latest = db.session.execute(select(Bundle.id, Bundle.spec_key).where(Bundle.process_id == RECEPTION)
                                .order_by(Bundle.version.desc()).limit(1)).one()
    facts = rt.bundles.get(latest.spec_key)
    opened = open_planned_ticket(rt, StartPlan(latest.id, facts.spec_key, facts,
                                               clean_submission(start_form(facts), intake)), user=None)
    record_event(instance_id, "ticket_opened", at=rt.clock.now(), actor_id=actor_id,
                 data={"ticket_number": opened.number})
    return opened.ticket_id


def issue_intake(plan: CallbackPlan, answer: Mapping[str, Any], *, channel: str, heard: str) -> dict[str, Any]:
    """The reception intake of an issue the owner raised on a callback (by an agent's call, a steward's visit
    or the owner's survey answer): the plan's unit and owner, the issue's category (a repair when not given)
    and its description after where it was heard (``heard``)."""
    return {"project": plan.project_key, "unit": plan.unit_code, "caller_name": plan.owner_name or "业主",
            "phone": plan.phone or "", "channel": channel, "category": answer.get("issue_category") or "repair",
            "description": f"{heard}：{answer.get('issue_description') or ''}", "urgency": "normal",
            "emergency": False}
