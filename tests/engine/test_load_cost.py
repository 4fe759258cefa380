"""What a step costs around the library: a stored state is restored without the library's per-task deep merge, and
the step's result (ready tasks, latest data) comes from one walk of the task tree, not the library's iterator; both
give exactly what the library's own restore and ``get_tasks`` give."""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.task import Task, TaskState
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.workflow import Workflow

from app.engine import Engine
from app.engine.serialization import make_registry, make_serializer


def _states(deploy: Any, complete_ready: Any) -> tuple[Engine, list[str]]:
    """The caller flow's states: started (its call activity not yet running) and with the called flow running."""
    engine = deploy("caller.bpmn", "callee.bpmn")
    started = engine.start("caller", {"site": "3栋"})
    picked = complete_ready(started, "pick", {"technician": "zheng"})
    return engine, [started.state, picked.state]


def _library_serializer(engine: Engine) -> Any:
    registry = make_registry()
    TaskConverter(Task, registry)  # the library's own restore of a task back in place
    return make_serializer(engine.specs, registry)


def test_a_stored_state_is_restored_exactly_as_the_library_restores_it(deploy, complete_ready):
    engine, states = _states(deploy, complete_ready)
    library = _library_serializer(engine)

    for state in states:
        ours, theirs = engine.serializer.deserialize_json(state), library.deserialize_json(state)
        for workflow, expected in ((ours, theirs), *zip(ours.subprocesses.values(), theirs.subprocesses.values(),
                                                         strict=True)):
            assert list(workflow.tasks) == list(expected.tasks)
            for task_id, task in workflow.tasks.items():
                other = expected.tasks[task_id]
                assert (task.state, task.task_spec.name, task._parent, task._children, task.data,
                        task.internal_data) == (other.state, other.task_spec.name, other._parent, other._children,
                                                other.data, other.internal_data)
        assert json.loads(engine.serializer.serialize_json(ours)) == json.loads(library.serialize_json(theirs))


def test_restoring_a_state_copies_no_task_data_through_the_library_s_deep_merge(deploy, complete_ready,
                                                                                 monkeypatch):
    engine, states = _states(deploy, complete_ready)
    merges = []
    merge = DeepMerge.merge
    monkeypatch.setattr(DeepMerge, "merge", staticmethod(lambda *args: merges.append(1) or merge(*args)))

    seen = engine.inspect(states[1])

    assert [task.name for task in seen.ready_tasks] == ["repair"]
    assert merges == []


def test_a_step_s_result_walks_the_task_tree_once_without_the_library_s_iterator(deploy, complete_ready,
                                                                                 monkeypatch):
    engine, states = _states(deploy, complete_ready)
    workflow = engine.serializer.deserialize_json(states[1])
    ready = [str(task.id) for task in workflow.get_tasks(state=TaskState.READY, manual=True)]
    walks = []
    get_tasks = Workflow.get_tasks_iterator
    monkeypatch.setattr(Workflow, "get_tasks_iterator", lambda *args, **kwargs: walks.append(1) or get_tasks(
        *args, **kwargs))

    seen = engine.inspect(states[1])

    assert [task.task_id for task in seen.ready_tasks] == ready
    assert seen.data == {"site": "3栋", "technician": "zheng"}
    assert walks == []
