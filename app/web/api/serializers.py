"""Turning service results into the JSON shapes of openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.services.ops.request_context import without_request_id
from app.services.steps.plan import InstanceOutcome, TaskSnapshot
from app.services.work.inbox import shown_phone
from app.services.work.instances import AuditEvent, DeployedProcess, InstanceDetail, ProcessInstance
from app.services.work.people_choice import PeopleChoice
from app.services.work.tasks import TaskDetail
from app.services.work.tickets import Ticket
from app.web.i18n import bilingual


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def task_summary(task: TaskSnapshot) -> dict[str, Any]:
    return {
        "id": task.id, "instance_id": task.instance_id, "process_id": task.process_id, "name": task.element_id,
        "title": task.title, "role": task.role, "department": task.department, "assignee": task.assignee,
        "claimed_by": task.claimed_by, "state": task.state,
        "due_at": iso(task.due_at), "form_key": task.form_key, "created_at": iso(task.created_at),
    }


def task_detail(detail: TaskDetail, *, pickers: dict[str, PeopleChoice] | None = None,
                locale: str = "zh") -> dict[str, Any]:
    """The task with its form and data; ``unstaffed`` says why nobody else may do it, ``people`` whom each
    people picker of the form offers (and why it offers people of other departments)."""
    return {**task_summary(detail.task), "form": detail.form, "data": detail.data,
            "instructions": detail.instructions,
            "unstaffed": bilingual(detail.unstaffed.reason(), locale) if detail.unstaffed else None,
            "people": {name: _people(choice, locale) for name, choice in (pickers or {}).items()}}


def _people(choice: PeopleChoice, locale: str) -> dict[str, Any]:
    offered = [{"username": username, "name": name, "group": None} for username, name in choice.people]
    offered += [{"username": username, "name": name, "group": bilingual(group, locale)}
                for group, people in choice.groups for username, name in people]
    return {"role": choice.role, "reason": bilingual(choice.unstaffed.reason(), locale) if choice.unstaffed else None,
            "choices": offered}


def instance_state(outcome: InstanceOutcome) -> dict[str, Any]:
    return {"id": outcome.instance_id, "status": outcome.status,
            "tasks": [task_summary(task) for task in outcome.open_tasks]}


def process_item(process: DeployedProcess) -> dict[str, Any]:
    facts = process.facts
    return {"id": facts.process_id, "title": facts.title, "version": process.version,
            "start_form": facts.forms.get(facts.start_form) if facts.start_form else None}


def audit_event(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "task_id": event.task_id, "actor": event.actor.username if event.actor else None,
            "action": event.action, "data": without_request_id(event.data), "at": iso(event.at)}


def instance_detail(detail: InstanceDetail) -> dict[str, Any]:
    instance: ProcessInstance = detail.instance
    return {
        "id": instance.id, "process_id": instance.process_id, "title": detail.facts.title,
        "bundle_version": detail.bundle_version, "status": instance.status, "started_by": detail.started_by,
        "started_at": iso(instance.started_at), "ended_at": iso(instance.ended_at),
        "next_timer_at": iso(instance.next_timer_at), "tasks": [task_summary(t) for t in detail.open_tasks],
        "events": [audit_event(e) for e in detail.events], "error": instance.error,
    }


def ticket_summary(ticket: Ticket, *, full_phone: bool) -> dict[str, Any]:
    """A ticket's JSON; its phone in full only when ``full_phone`` (``inbox.may_see_phone``), else masked."""
    return {
        "number": ticket.number, "instance_id": ticket.instance_id, "project": ticket.project_key,
        "unit": ticket.unit_code, "category": ticket.category, "part": ticket.part, "channel": ticket.channel,
        "caller": ticket.caller, "phone": shown_phone(ticket.phone, full=full_phone),
        "description": ticket.description, "stage": ticket.stage,
        "department": ticket.department, "due_at": iso(ticket.due_at), "escalation_level": ticket.escalation_level,
        "reopened": ticket.reopened, "rework_count": ticket.rework_count, "repeat_repair": ticket.repeat_repair,
        "satisfaction": ticket.satisfaction, "outcome": ticket.outcome, "received_at": iso(ticket.received_at),
        "closed_at": iso(ticket.closed_at), "closed_in_time": ticket.closed_in_time,
        "closed_first_time": ticket.closed_first_time, "attached_calls": ticket.attached_calls,
    }
