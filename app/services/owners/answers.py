"""The owner's answers from the phone, delivered to the ticket's flow as the messages its diagrams wait for.

Each answer is one engine step in one transaction (state, task index, audit event, ticket columns), like a
completed task: ``confirm_appointment``, ``move_appointment``, ``answer_quote``, ``sign_acceptance``,
``rate_service``. ``questions_for`` says what the flow waits for from the owner now, so a page shows only
the answers that are possible. Every call first finds the ticket among the owner's own (NotFoundError
otherwise); an answer the flow no longer waits for, or the same answer twice, is a ConflictError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.engine import EngineRunError, MessageNotAwaitedError
from app.extensions import db
from app.models import ACTIVE_STATUSES, ProcessInstance, Ticket
from app.models.instances import AuditEvent
from app.services.access import Actor
from app.services.errors import ConflictError, InvalidFormError, msg
from app.services.jobs.notifications import queue_text
from app.services.owners.answer_texts import owner_page_url
from app.services.owners.identity import OwnerPrincipal, mask_phone
from app.services.owners.tickets import owner_ticket
from app.services.runtime import Runtime
from app.services.steps.plan import (
    TaskSnapshot,
    event_row,
    open_tasks_of,
    plan_error,
    plan_step,
    record_event,
    step_transaction,
)
from app.services.steps.write import write_step
from app.services.work.after_step import StepDone, run_after_step
from app.services.work.tasks import get_task
from app.services.work.tickets import sync_ticket_after_step

CONFIRM, MOVE, QUOTE, SIGN, RATE = ("owner_confirms_appointment", "owner_moves_appointment", "owner_answers_quote",
                                    "owner_signs_acceptance", "owner_rates")
ANSWERED = "owner_answer"  # the audit action of an owner's answer
SIGNATURE_ASKED = "owner_signature_asked"  # the audit action of the technician's "ask the owner to sign"
SATISFACTION = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
PAYMENT_METHODS = ("cash", "mobile", "bank_transfer", "fee_bill")
COMMENT_MAX = 500
# The step whose message boundary takes each answer: the owner sees the question while that step is open.
STEP_OF = {CONFIRM: "inspect_on_site", MOVE: "inspect_on_site", QUOTE: "owner_consents",
           SIGN: "owner_acceptance", RATE: "call_owner"}


@dataclass(frozen=True)
class Questions:
    """What the ticket's flow waits for from the owner now, with what the owner needs to answer it."""

    number: str
    appointment_at: datetime | None = None
    can_confirm: bool = False  # the visit: confirm it (once per agreed time) ...
    can_move: bool = False  # ... or ask for another time
    quote: dict[str, Any] | None = None  # repair_items, quote_labour, quote_material, total
    can_sign: bool = False  # the technician asked for the remote signature
    work: dict[str, Any] | None = None  # repair_items, completed_at (what is signed for)
    can_rate: bool = False

    @property
    def any(self) -> bool:
        return self.can_confirm or self.can_move or self.quote is not None or self.can_sign or self.can_rate


def questions_for(rt: Runtime, owner: OwnerPrincipal, number: str) -> Questions:
    """What the owner may answer on ticket ``number`` now; raise NotFoundError for another owner's ticket."""
    ticket = owner_ticket(owner, number)
    instance = db.session.get(ProcessInstance, ticket.instance_id)
    if instance is None or instance.status not in ACTIVE_STATUSES:
        return Questions(number)
    awaited = rt.engine.inspect(instance.state).awaited_messages
    tasks = open_tasks_of(instance.id)
    steps = {task.element_id: task.id for task in tasks}

    def open_for(message: str) -> str | None:
        return steps.get(STEP_OF[message]) if message in awaited else None

    quote_task, sign_task = open_for(QUOTE), open_for(SIGN)
    return Questions(
        number, ticket.appointment_at,
        can_confirm=open_for(CONFIRM) is not None and not _confirmed(instance.id, ticket.appointment_at),
        can_move=open_for(MOVE) is not None,
        quote=_quote(rt, instance.state, quote_task) if quote_task else None,
        can_sign=sign_task is not None and _signature_asked(instance.id, sign_task),
        work=_work(rt, instance.state, sign_task) if sign_task else None,
        can_rate=open_for(RATE) is not None and not _answered(instance.id, RATE)
        and not _call_due(tasks, rt.clock.now()),
    )


def confirm_appointment(rt: Runtime, owner: OwnerPrincipal, number: str) -> None:
    """The owner confirms the agreed visit; 409 when there is none to confirm or it is confirmed already."""
    ticket = owner_ticket(owner, number)
    if _confirmed(ticket.instance_id, ticket.appointment_at):
        raise ConflictError(msg("you have already answered this"))
    at = ticket.appointment_at.isoformat() if ticket.appointment_at else None
    _deliver(rt, ticket, CONFIRM, {"answered_at": rt.clock.now().isoformat(), "appointment_at": at})


def move_appointment(rt: Runtime, owner: OwnerPrincipal, number: str, wish: str | None, reason: str | None) -> None:
    """The owner asks for another time (``wish``, RFC 3339); the technician agrees a new one."""
    ticket = owner_ticket(owner, number)
    if not wish:
        raise InvalidFormError(msg("the form has errors"), errors={"wish": msg("required")})
    _deliver(rt, ticket, MOVE, {"wish": wish, "reason": _text(reason, "reason")})


def answer_quote(rt: Runtime, owner: OwnerPrincipal, number: str, *, agrees: bool | None, reason: str | None,
                 payment_method: str | None) -> None:
    """The owner agrees (with a way to pay) or refuses (with a reason, as at the desk) the quote."""
    ticket = owner_ticket(owner, number)
    errors: dict[str, Any] = {}
    if agrees is None:
        errors["agrees"] = msg("required")
    elif agrees and payment_method not in PAYMENT_METHODS:
        errors["payment_method"] = msg("required")
    elif not agrees and not (reason or "").strip():
        errors["reason"] = msg("required")
    if errors:
        raise InvalidFormError(msg("the form has errors"), errors=errors)
    last = _last_answer(ticket.instance_id, QUOTE)
    if last is not None and last.get("agrees") == agrees:
        raise ConflictError(msg("you have already answered this"))
    _deliver(rt, ticket, QUOTE, {"agrees": bool(agrees), "reason": None if agrees else _text(reason, "reason"),
                                 "payment_method": payment_method if agrees else None})


def sign_acceptance(rt: Runtime, owner: OwnerPrincipal, number: str, signature: str | None) -> None:
    """The owner signs the acceptance on their phone (``signature``: the stored drawing, ``upload:<name>``);
    409 unless the technician asked for it and the acceptance still waits."""
    ticket = owner_ticket(owner, number)
    if not signature:
        raise InvalidFormError(msg("the form has errors"), errors={"signature": msg("required")})
    instance = db.session.get(ProcessInstance, ticket.instance_id)
    steps = {task.element_id: task.id for task in open_tasks_of(ticket.instance_id)}
    task_id = steps.get(STEP_OF[SIGN])
    if instance is None or task_id is None or not _signature_asked(instance.id, task_id):
        raise ConflictError(msg("this is no longer waiting for your answer"))
    _deliver(rt, ticket, SIGN, {"signature": signature})


def rate_service(rt: Runtime, owner: OwnerPrincipal, number: str, satisfaction: str | None,
                 comment: str | None) -> None:
    """The owner rates the service (5 levels and a comment) before the callback is made; once."""
    ticket = owner_ticket(owner, number)
    if satisfaction not in SATISFACTION:
        raise InvalidFormError(msg("the form has errors"), errors={"satisfaction": msg("required")})
    if _answered(ticket.instance_id, RATE):
        raise ConflictError(msg("you have already answered this"))
    if _call_due(open_tasks_of(ticket.instance_id), rt.clock.now()):
        raise ConflictError(msg("the callback is due: the service desk will call you to ask"))
    _deliver(rt, ticket, RATE, {"satisfaction": satisfaction, "comment": _text(comment, "comment")})


def ask_owner_to_sign(rt: Runtime, task_id: str, *, user: Actor) -> str:
    """The technician, the job done, asks the owner to sign the acceptance on their own phone: text the owner
    the link (``owner_sign_link``) and open the remote signature; return the owner's masked phone.

    Raise NotFound / Forbidden as for the task itself; ConflictError when the task is not an open acceptance
    or the ticket has no mobile number to text.
    """
    detail = get_task(rt, task_id, user=user)
    task = detail.task
    ticket = db.session.scalars(select(Ticket).where(Ticket.instance_id == task.instance_id)).first()
    if task.element_id != STEP_OF[SIGN] or task.state != "open" or ticket is None:
        raise ConflictError(msg("this task cannot be signed by the owner remotely"))
    sent = queue_text(ticket.phone, "owner_sign_link", {"number": ticket.number,
                                                         "url": owner_page_url(ticket.number, "sign")},
                      now=rt.clock.now(), ticket_id=ticket.id)
    if not sent:
        raise ConflictError(msg("the ticket has no mobile number to text"))
    with step_transaction():
        record_event(task.instance_id, SIGNATURE_ASKED, at=rt.clock.now(), actor_id=user.id, task_id=task.id)
    return mask_phone(ticket.phone)


# --- one step ----------------------------------------------------------------------------------------------

def _deliver(rt: Runtime, ticket: Ticket, message: str, payload: dict[str, Any]) -> None:
    """Deliver ``message`` to the ticket's instance: state, tasks, audit and ticket in one transaction."""
    instance = db.session.get(ProcessInstance, ticket.instance_id, populate_existing=True)
    if instance is None or instance.status not in ACTIVE_STATUSES:
        raise ConflictError(msg("this is no longer waiting for your answer"))
    now, open_tasks = rt.clock.now(), open_tasks_of(instance.id)
    try:
        result = rt.engine.deliver_message(instance.state, message, payload)
    except MessageNotAwaitedError:
        raise ConflictError(msg("this is no longer waiting for your answer")) from None
    except EngineRunError as exc:
        failed = plan_error(instance_id=instance.id, lock_version=instance.lock_version, error=exc.details, now=now)
        failed.events.append(event_row(instance.id, "error", at=now, data={"message": exc.details.message}))
        with step_transaction():
            write_step(failed)
        raise ConflictError(msg("this is no longer waiting for your answer")) from exc
    facts = rt.bundles.get(instance.spec_key)
    step, _still_open = plan_step(instance_id=instance.id, lock_version=instance.lock_version, result=result,
                                  facts=facts, now=now, open_tasks=open_tasks, previous_timer_at=instance.next_timer_at)
    step.events.append(event_row(instance.id, ANSWERED, at=now, data={"message": message, **payload}))
    with step_transaction():
        write_step(step)
        sync_ticket_after_step(rt, ticket.id, result, user=None)
        run_after_step(rt, StepDone(instance.id, facts.process_id, result, "message", message=message))


def _call_due(open_tasks: list[TaskSnapshot], now: datetime) -> bool:
    """Whether the callback's call is due: from then on the desk calls, and a self-rating no longer ends it."""
    return any(task.element_id == STEP_OF[RATE] and task.due_at is not None and task.due_at <= now
               for task in open_tasks)


# --- what was answered -------------------------------------------------------------------------------------

def _answers(instance_id: int, message: str) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(AuditEvent.data).where(AuditEvent.instance_id == instance_id,
                                                            AuditEvent.action == ANSWERED)
                              .order_by(AuditEvent.id))
    return [row for row in rows if isinstance(row, dict) and row.get("message") == message]


def _answered(instance_id: int, message: str) -> bool:
    return bool(_answers(instance_id, message))


def _last_answer(instance_id: int, message: str) -> dict[str, Any] | None:
    answers = _answers(instance_id, message)
    return answers[-1] if answers else None


def _confirmed(instance_id: int, appointment_at: datetime | None) -> bool:
    at = appointment_at.isoformat() if appointment_at else None
    return any(answer.get("appointment_at") == at for answer in _answers(instance_id, CONFIRM))


def _signature_asked(instance_id: int, task_id: str) -> bool:
    return db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.instance_id == instance_id, AuditEvent.action == SIGNATURE_ASKED, AuditEvent.task_id == task_id,
    ).limit(1)) is not None


def _fields(rt: Runtime, state: str, task_id: str, *names: str) -> dict[str, Any]:
    data, _instructions = rt.engine.task_details(state, task_id)
    return {name: data.get(name) for name in names}


def _work(rt: Runtime, state: str, task_id: str) -> dict[str, Any]:
    work = _fields(rt, state, task_id, "repair_items", "completed_at")
    try:
        work["completed_at"] = datetime.fromisoformat(str(work["completed_at"])) if work["completed_at"] else None
    except ValueError:
        work["completed_at"] = None
    return work


def _quote(rt: Runtime, state: str, task_id: str) -> dict[str, Any]:
    quote = _fields(rt, state, task_id, "repair_items", "quote_labour", "quote_material")
    quote["total"] = float(quote["quote_labour"] or 0) + float(quote["quote_material"] or 0)
    return quote


def _text(value: str | None, field: str) -> str | None:
    text = (value or "").strip()
    if len(text) > COMMENT_MAX:
        raise InvalidFormError(msg("the form has errors"),
                               errors={field: msg("at most %(count)s characters in this answer", count=COMMENT_MAX)})
    return text or None
