"""Workflow state without the embedded spec: a spec key, restored from an in-process cache; and the counts of
the finished history ``history.prune`` dropped."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from copy import copy
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task, TaskState

from app.engine.history import Pruned

SpecPair = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]
SpecLoader = Callable[[str], str]


class UnknownSpecError(LookupError):
    """No bundle is stored under this spec key."""


class SpecCache:
    """Parsed specs by spec key; a miss restores the stored serialized spec (no parsing)."""

    def __init__(self, loader: SpecLoader, registry: Any) -> None:
        self._loader = loader
        self._registry = registry
        self._specs: dict[str, SpecPair] = {}
        self._lock = threading.Lock()

    def get(self, spec_key: str) -> SpecPair:
        pair = self._specs.get(spec_key)
        if pair is None:
            pair = self._restore(self._loader(spec_key))
            with self._lock:
                self._specs[spec_key] = pair
        return pair

    def put(self, spec_key: str, pair: SpecPair) -> None:
        with self._lock:
            self._specs[spec_key] = pair

    def _restore(self, serialized: str) -> SpecPair:
        dct = json.loads(serialized)
        spec = self._registry.restore(dct["spec"])
        subprocess_specs = {name: self._registry.restore(sub) for name, sub in dct["subprocess_specs"].items()}
        return spec, subprocess_specs


def serialize_spec(registry: Any, pair: SpecPair) -> str:
    spec, subprocess_specs = pair
    return json.dumps({
        "spec": registry.convert(spec),
        "subprocess_specs": {name: registry.convert(sub) for name, sub in sorted(subprocess_specs.items())},
    }, sort_keys=True)


def _make_keyed_converter(specs: SpecCache) -> type[BpmnWorkflowConverter]:
    class KeyedWorkflowConverter(BpmnWorkflowConverter):
        """Writes ``spec_key`` instead of the whole spec; reads it back from the cache."""

        def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
            dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
            dct["spec_key"] = workflow.spec_key
            dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
            dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
            pruned = getattr(workflow, "kefu_pruned", None)
            if pruned:  # what history.prune dropped; absent until a loop made the tree deep
                dct["pruned"] = pruned.to_dict()
            return dct

        def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
            spec_key = dct.pop("spec_key")
            spec, subprocess_specs = specs.get(spec_key)
            workflow = self.target_class(spec, subprocess_specs, deserializing=True)
            workflow.spec_key = spec_key
            workflow.kefu_pruned = Pruned.from_dict(dct.pop("pruned", None))
            self._restore_tree(workflow, dct)
            return workflow

        def _restore_tree(self, workflow: BpmnWorkflow, dct: dict[str, Any]) -> None:
            restore = self.registry.restore
            workflow.tasks = {task_uuid(key): restore(task, workflow=workflow) for key, task in dct["tasks"].items()}
            workflow.task_tree = workflow.tasks.get(task_uuid(dct["root"]))
            self.set_default_attributes(workflow, dct)
            self.subprocesses_from_dict(dct["subprocesses"], workflow)
            workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))

    return KeyedWorkflowConverter


# A task's id is written three times in a state (its key, its own ``id``, and its parent's ``children`` or its
# children's ``parent``) and the same ids come back at every step of an instance: parsed once (a UUID is immutable).
task_uuid = lru_cache(maxsize=8192)(UUID)
_MUTABLE = (dict, list, set)
_PRIMITIVE = frozenset({str, int, float, bool, type(None)})  # what the registry restores as it is


class FastTaskConverter(TaskConverter):
    """SpiffWorkflow's task restore (``TaskConverter.from_dict``) without its per-task overheads, building the same
    task: each task id parsed once (``task_uuid``); the parent's data copied as ``DeepMerge.merge({}, parent.data)``
    copies it (a shallow copy of each dict, list or set value) but without a Python step per string or number; the
    registry's restore not called for each string or number, nor for empty internal data. Every step restores every
    task of its instance (tests/engine/test_load_cost.py)."""

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Task:
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=task_uuid(dct["id"]))
        parent_id = dct["parent"]
        task._parent = task_uuid(parent_id) if parent_id is not None else None
        task._children = [task_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal_data = dct["internal_data"]
        task.internal_data = self.registry.restore(internal_data) if internal_data else internal_data
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = task.parent if delta else None
        if delta and parent is not None:
            data = dict(parent.data)
            for key, value in data.items():  # a value replaced in place: the dict's size does not change
                if type(value) not in _PRIMITIVE and isinstance(value, _MUTABLE):
                    data[key] = copy(value)
            data.update(self._restored(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self._restored(dct["data"])
        task.data = data
        return task

    def _restored(self, values: Any) -> Any:
        """``registry.restore(values)``, without a call for each string, number, boolean or None in a dict."""
        if type(values) is not dict or "typename" in values:
            return self.registry.restore(values)
        restore = self.registry.restore
        return {key: value if type(value) in _PRIMITIVE else restore(value) for key, value in values.items()}


def make_registry() -> Any:
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    FastTaskConverter(Task, registry)  # replaces the library's restore of a task (same typename)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]),
                      typename="date")
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]), typename="Decimal")
    return registry


def make_serializer(specs: SpecCache, registry: Any) -> BpmnWorkflowSerializer:
    _make_keyed_converter(specs)(BpmnWorkflow, registry)
    return BpmnWorkflowSerializer(registry)
