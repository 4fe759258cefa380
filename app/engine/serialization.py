"""Workflow state without the embedded spec: a spec key, restored from an in-process cache; and the counts of
the finished history ``history.prune`` dropped."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

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
            workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
            workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
            self.set_default_attributes(workflow, dct)
            self.subprocesses_from_dict(dct["subprocesses"], workflow)
            workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))

    return KeyedWorkflowConverter


def make_registry() -> Any:
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]),
                      typename="date")
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]), typename="Decimal")
    return registry


def make_serializer(specs: SpecCache, registry: Any) -> BpmnWorkflowSerializer:
    _make_keyed_converter(specs)(BpmnWorkflow, registry)
    return BpmnWorkflowSerializer(registry)
