"""Skipping a wait: fire one waiting timer now, ahead of its time (a supervisor dispatches a night call at once).

Like ``runtime``, nothing from SpiffWorkflow leaves this module.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine.problems import TaskNotReadyError
from app.engine.runtime import Engine, StepResult


def fire_timer_now(engine: Engine, state: str, element_id: str) -> StepResult:
    """Fire the waiting timer ``element_id`` (in the process or any called one) at the clock's now, and run on.

    Other timers keep their due times. Raises TaskNotReadyError when no such timer waits;
    EngineRunError as ``Engine.fire_due_timers`` does.
    """
    workflow = engine._load(state)
    waiting = [task for task in workflow.event_manager.tasks.values()
               if task.task_spec.bpmn_id == element_id
               and isinstance(task.task_spec.event_definition, TimerEventDefinition)]
    if not waiting:
        raise TaskNotReadyError(f"no timer {element_id} is waiting")

    def fire() -> None:
        for task in waiting:
            task._set_internal_data(event_fired=True)
        workflow.refresh_timers()

    return engine._advance(workflow, fire)
