"""What a completed task means to its process beyond the engine's state: one hook per process id.

``complete_task`` (services/work/tasks.py) runs the hook of the instance's process inside the step's
transaction, so what it writes commits with the step, and an error it raises refuses the step. A ticket's
instance is not looked up here: whatever its process, its step is copied to the ticket
(``tickets.sync_ticket_after_step``), which work/tasks.py calls itself.

Each hook is registered by the module that owns its process, with ``@after_step(PROCESS_ID)``; this module
imports none of them, so none of them forms an import circle through ``complete_task``. The application
factory (``app.register_step_hooks``) loads those modules, as ``app.worker`` loads the job handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from app.engine import StepResult
from app.services.access import Actor
from app.services.runtime import Runtime
from app.services.steps.plan import TaskSnapshot


class AfterStep(Protocol):
    def __call__(self, rt: Runtime, instance_id: int, task: TaskSnapshot, submitted: Mapping[str, Any],
                 result: StepResult, *, user: Actor) -> None:
        """Write what the completed ``task`` (its clean form data ``submitted``) means; may raise a domain error."""


_HOOKS: dict[str, AfterStep] = {}


def after_step(process_id: str) -> Callable[[AfterStep], AfterStep]:
    """Register what runs after every completed task of the process ``process_id`` (one hook a process)."""
    def register(hook: AfterStep) -> AfterStep:
        if _HOOKS.setdefault(process_id, hook) is not hook:
            raise ValueError(f"the process {process_id!r} has an after-step hook already")
        return hook
    return register


def after_step_hook(process_id: str) -> AfterStep | None:
    """The hook registered for ``process_id``, if any."""
    return _HOOKS.get(process_id)
