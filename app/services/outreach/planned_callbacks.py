"""Planned callbacks at work: the daily job that starts the due plans, and what each call records.

Every day at 08:00 business time the job ``planned-callbacks`` plans the new owners' calls (units handed
over lately) and the calls of warranties and contracts ending soon, and, on a working day, starts the process
``planned_callback`` for every plan due; its calls reach the agents' inbox with the script of the customer type
(a visit: the property department's; a text or e-mail: the owner's survey link first, ``callback_surveys.py``).
``after_callback_step`` runs in every step of a call (services/work/after_step.py): a completed call's outcome
is kept on ``callback_calls`` and an issue the owner raised becomes a ticket linked to the call
(``tickets.open_ticket``), and whenever the flow begins waiting for the owner's survey answer (a timer's next
contact by text or e-mail) the link is sent, in that same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from app.engine import StepResult
from app.extensions import db
from app.models import ProcessInstance
from app.models.outreach import PLANNED_CALLBACKS_JOB, CallbackCall, CallbackPlan
from app.models.tickets import Ticket, Unit
from app.services.access import Actor
from app.services.jobs.notifications import mobile_digits
from app.services.jobs.queue import TakenJob, handler
from app.services.outreach.callback_plans import (
    due_plans,
    ensure_daily_job,
    next_daily_run,
    plan_expiring,
    plan_new_owners,
)
from app.services.outreach.callback_surveys import PROCESS, issue_intake, open_issue_ticket, send_survey_link
from app.services.runtime import Runtime
from app.services.steps.job_rows import upsert_job
from app.services.steps.plan import record_event, step_transaction
from app.services.work.after_step import CompletedTask, StepDone, after_step
from app.services.work.instances import start_for_the_system
from app.services.work.tickets import open_ticket

CALL_TASK = "call_owner"

log = logging.getLogger("kefu.outreach")


def ensure_planned_callbacks_job(*, now: datetime, timezone: str) -> None:
    """Create the daily job unless it exists (the worker does this at start)."""
    with step_transaction():
        ensure_daily_job(db.session.connection(), now=now, timezone=timezone)


def start_due_callbacks(rt: Runtime, now: datetime) -> int:
    """Plan the new owners' calls and, on a working day, start every plan due; returns how many started.

    Each plan starts in its own transaction: one that fails (its data refused by the start form, the flow
    failing) is logged and stays planned for the next run, and the day's other plans still start."""
    today = now.astimezone(ZoneInfo(rt.timezone)).date()
    with step_transaction():
        plan_new_owners(today, now=now, timezone=rt.timezone)
        plan_expiring(today, now=now, timezone=rt.timezone)
    if not rt.calendar().is_working_day(today):
        return 0
    started = 0
    for plan_id in [plan.id for plan in due_plans(today)]:
        try:
            started += _start(rt, plan_id, now)
        except _NotDeployedError:
            log.warning("planned callbacks are due but %s is not deployed", PROCESS)
            break
        except Exception:  # any failure of one plan: logged, and the day's others still start
            log.exception("planned callback plan %s could not start; it stays planned", plan_id)
    return started


class _NotDeployedError(Exception):
    """The flow is not deployed: the plan's claim is rolled back, it stays planned."""


def _start(rt: Runtime, plan_id: int, now: datetime) -> int:
    """Start one plan's process and mark the plan started, in one transaction. The plan is claimed first by a
    conditional update (still planned → started), so a plan cancelled meanwhile, or started by another run of
    the job, starts nothing (0); the claim waits for, and then loses to, a concurrent one."""
    with step_transaction():
        claimed = db.session.connection().execute(update(CallbackPlan).where(
            CallbackPlan.id == plan_id, CallbackPlan.status == "planned").values(status="started", started_at=now))
        if not claimed.rowcount:
            return 0
        plan = db.session.get_one(CallbackPlan, plan_id, populate_existing=True)
        outcome = start_for_the_system(rt, PROCESS, _start_data(plan), user=None)
        if outcome is None:
            raise _NotDeployedError(PROCESS)
        db.session.execute(update(CallbackPlan).where(CallbackPlan.id == plan_id).values(
            instance_id=outcome.instance_id))
        state = db.session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == outcome.instance_id))
        if state is not None:  # a text or e-mail callback: the survey link goes now
            send_survey_link(rt, outcome.instance_id, rt.engine.inspect(state))
    return 1


def _start_data(plan: CallbackPlan) -> dict[str, Any]:
    """The flow's start data (planned_callback_start.json): the plan, its source ticket, the owner's contacts."""
    source = db.session.scalar(select(Ticket.number).where(Ticket.id == plan.source_ticket_id)) \
        if plan.source_ticket_id else None
    email = db.session.scalar(select(Unit.owner_email).where(Unit.id == plan.unit_id)) if plan.unit_id else None
    return {"plan_id": plan.id, "customer_type": plan.customer_type, "project": plan.project_key,
            "unit": plan.unit_code, "owner_name": plan.owner_name or "", "phone": plan.phone or "",
            "source_ticket": source or "", "mobile": mobile_digits(plan.phone or "") or "",
            "owner_email": email or ""}


@handler(PLANNED_CALLBACKS_JOB)
def _run_planned_callbacks(rt: Runtime, job: TakenJob, now: datetime) -> None:
    start_due_callbacks(rt, now)
    with step_transaction():
        upsert_job(db.session.connection(), key=PLANNED_CALLBACKS_JOB, kind=PLANNED_CALLBACKS_JOB,
                   due_at=next_daily_run(now, rt.timezone), now=now)


@after_step(PROCESS)
def after_callback_step(rt: Runtime, step: StepDone) -> None:
    """A call completed is recorded; a flow that now waits for the owner's survey answer sends its link."""
    if step.task is not None:
        record_call(rt, step.instance_id, step.task, step.result)
    send_survey_link(rt, step.instance_id, step.result)


def record_call(rt: Runtime, instance_id: int, completed: CompletedTask, result: StepResult) -> None:
    """Keep a completed call's outcome; an issue raised opens a ticket linked to it. Runs in the step's
    transaction (``tasks.complete_task``), so a refused ticket (InvalidForm, Forbidden) refuses the step too."""
    task, submitted, user = completed.snapshot, completed.submitted, completed.by
    plan = db.session.scalar(select(CallbackPlan).where(CallbackPlan.instance_id == instance_id))
    if plan is None:
        return  # started by hand, without a plan: nothing to keep
    now = rt.clock.now()
    ticket_id = None
    if submitted.get("issue_raised"):
        ticket_id = _open_issue_ticket(rt, plan, instance_id, submitted, user=user) if task.element_id == CALL_TASK \
            else open_issue_ticket(rt, plan, instance_id, submitted, channel="walk_in", heard="上门回访中业主提出",
                                   actor_id=user.id)  # a steward records no calls: opened as the owner's own
    db.session.execute(insert(CallbackCall).values(
        plan_id=plan.id, task_id=task.id, method=result.data.get("contact_method") or result.data.get("method"),
        reached=bool(submitted.get("reached")),
        satisfaction=submitted.get("satisfaction"), issue=submitted.get("issue_description"),
        remarks=submitted.get("remarks"), ticket_id=ticket_id, done_by_id=user.id, done_at=now))
    if result.data.get("callback_done"):
        db.session.execute(update(CallbackPlan).where(CallbackPlan.id == plan.id).values(status="done"))


def _open_issue_ticket(rt: Runtime, plan: CallbackPlan, instance_id: int, submitted: Mapping[str, Any], *,
                       user: Actor) -> int:
    """Open the ticket of the issue raised (recorded by the agent who made the call) and note it on the call's
    instance; raise InvalidForm or Forbidden as ``open_ticket``."""
    intake = issue_intake(plan, submitted, channel="hotline", heard="定期回访中业主提出")
    opened = open_ticket(rt, intake, user=user)
    record_event(instance_id, "ticket_opened", at=rt.clock.now(), actor_id=user.id,
                 data={"ticket_number": opened.number})
    return opened.ticket_id

