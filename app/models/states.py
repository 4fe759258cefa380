"""The status and kind values the models store, as ``StrEnum``s.

The columns stay ``String``: a member is its string (``InstanceStatus.ERROR == "error"``), so stored rows,
queries, JSON and templates keep reading the same text, and no migration is needed.
"""

from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    """``ProcessInstance.status``."""

    RUNNING = "running"
    WAITING = "waiting"  # only timers or messages can move it on
    SUSPENDED = "suspended"  # by an admin, until resumed
    ERROR = "error"  # a step or a timer failed; the stored state is the one before it
    COMPLETED = "completed"
    TERMINATED = "terminated"  # ended for good by an admin


# Steps, timers and jobs run only on the active ones; an admin still acts on every unfinished one.
ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
UNFINISHED_STATUSES = (*ACTIVE_STATUSES, InstanceStatus.SUSPENDED, InstanceStatus.ERROR)
FINISHED_STATUSES = (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED)


class HumanTaskState(StrEnum):
    """``HumanTask.state``: a task is open until it is done or the flow (or an admin) cancels it."""

    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    """``Job.kind``: what the worker runs (``services/jobs/queue.py`` has one handler per kind)."""

    TIMER = "timer"  # an instance's waiting timers, due at the earliest
    REMINDER = "reminder"  # 80 % of a ticket's (or a task's) limit
    ESCALATE = "escalate"  # a ticket's (or a task's) escalation rung
    WEEKLY_REPORT = "weekly-report"


class OutboxStatus(StrEnum):
    """``OutboxMessage.status``."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # the retries are spent


class TicketStage(StrEnum):
    """``Ticket.stage``: the phase a flow's script task writes at its start (docs/flow-contract.md)."""

    INTAKE = "intake"
    NIGHT_HOLD = "night_hold"
    CONSULTATION = "consultation"
    FORWARDED = "forwarded"
    VALIDITY = "validity"
    DISPATCH = "dispatch"
    INVESTIGATION = "investigation"
    SOLUTION = "solution"
    APPROVAL = "approval"
    IMPLEMENTATION = "implementation"
    OWNER_CONFIRMATION = "owner_confirmation"
    APPOINTMENT = "appointment"
    INSPECTION = "inspection"
    REPAIR = "repair"
    ACCEPTANCE = "acceptance"
    CONFIRMATION = "confirmation"
    CALLBACK = "callback"
    CLASSIFICATION = "classification"
    REVIEW = "review"
    CLOSED = "closed"

