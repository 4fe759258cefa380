"""What a step means to its process beyond the engine's state: one hook per process id, for every kind of step.

Every step that moves an instance runs ``run_after_step`` inside its transaction, so what the hook writes commits
with the step, and an error it raises refuses the step: a completed task (``tasks.complete_task``), a fired timer
(``timers.fire_due_timers``), a message delivered (an owner's answer, a callback survey answered, a handover's
repairs done) and a supervisor's action on a wait. What moved the instance is the step's ``kind``; ``task`` is
set when a task was completed (a wait action that ends a pause completes one too). A ticket's instance first
copies its step to its ticket (``tickets.sync_ticket_after_step``, called by the step itself: this module
imports no process module); no ticket process registers a hook today.

Each hook is registered by the module that owns its process, with ``@after_step(PROCESS_ID)``; this module
imports none of them, so none of them forms an import circle through the steps. The application factory
(``app.register_step_hooks``) loads those modules, as ``app.worker`` loads the job handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from app.engine import StepResult
from app.services.access import Actor
from app.services.runtime import Runtime
from app.services.steps.plan import TaskSnapshot

StepKind = Literal["task", "timer", "message", "wait_action"]


@dataclass(frozen=True)
class CompletedTask:
    snapshot: TaskSnapshot
    submitted: Mapping[str, Any]  # the clean form data
    by: Actor


@dataclass(frozen=True)
class StepDone:
    """One stored step of an instance of ``process_id``."""

    instance_id: int
    process_id: str
    result: StepResult
    kind: StepKind
    actor: Actor | None = None  # None: the system moved it (a timer the worker fired, an owner's answer)
    task: CompletedTask | None = None  # the task the step completed, if any
    message: str | None = None  # the message delivered (kind "message")


class AfterStep(Protocol):
    def __call__(self, rt: Runtime, step: StepDone) -> None:
        """Write what ``step`` means to its process; may raise a domain error (the step is then not stored)."""


_HOOKS: dict[str, AfterStep] = {}


def after_step(process_id: str) -> Callable[[AfterStep], AfterStep]:
    """Register what runs after every step of the process ``process_id`` (one hook a process)."""
    def register(hook: AfterStep) -> AfterStep:
        if _HOOKS.setdefault(process_id, hook) is not hook:
            raise ValueError(f"the process {process_id!r} has an after-step hook already")
        return hook
    return register


def run_after_step(rt: Runtime, step: StepDone) -> None:
    """Run the hook of the step's process, if it has one, in the caller's transaction."""
    hook = _HOOKS.get(step.process_id)
    if hook is not None:
        hook(rt, step)
