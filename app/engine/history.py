"""Finished history the engine can no longer need, dropped from the task tree before a step's state is written.

SpiffWorkflow keeps every task it ever ran, and a loop back in a diagram adds new tasks *below* the old ones:
a repair the owner refused fifty times carries fifty rounds of finished tasks, which every later step
deserializes, walks (``get_tasks`` starts at the root) and serializes again, so a step's cost and the stored
state grow with the loop count. The tree also gets deep, and the library walks it recursively: after about a
hundred refusals a step fails with RecursionError and the instance is stuck in ``error``.

``prune`` keeps, in the top workflow and in each running sub-process:

- every task the engine may still read: the unfinished ones, the last completed one and the split a waiting
  join looks back for, each with ``KEEP_LEVELS`` finished levels above it and the finished branches hanging
  off those; and the finished tasks of a join where branches meet that are not above all unfinished ones, with
  their parents (when the join fires again it reads them);
- the root, and each task where the paths to two of them part, so the tree keeps its shape.

It drops everything else: finished tasks more than ``KEEP_LEVELS`` above anything in play, with the branches
and sub-processes under them, and links each kept task to its nearest kept ancestor. None of them can run
again, and no task reads their data: a task's data is its own copy, made from its parent's when it became
ready, and a join reads only the parents of its other branches' tasks, which stay. What they did is kept as
counts (``Pruned``), so the instance's diagram still shows how often each element ran; the audit log keeps
who did what with which data. A flow that does not loop is never ``KEEP_LEVELS`` deep, so its state is
written exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.task import Task, TaskState

# Finished levels kept above each task in play: more than any of our flows is deep from its start to its open
# tasks when it does not loop (28, the repair's work order), and about three rounds of its rework loop.
KEEP_LEVELS = 40


@dataclass
class Pruned:
    """What the dropped tasks did: per diagram (BPMN process id), element id -> completions, and which process
    each dropped call activity called. Stored with the state, under ``"pruned"``."""

    visits: dict[str, dict[str, int]] = field(default_factory=dict)
    calls: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"visits": self.visits, "calls": self.calls}

    @classmethod
    def from_dict(cls, dct: dict[str, Any] | None) -> Pruned:
        dct = dct or {}
        return cls({diagram: dict(counts) for diagram, counts in dct.get("visits", {}).items()},
                   {diagram: dict(calls) for diagram, calls in dct.get("calls", {}).items()})

    def __bool__(self) -> bool:
        return bool(self.visits or self.calls)

    def record(self, diagram: str, tasks: Iterable[Task]) -> None:
        for task in tasks:
            spec = task.task_spec
            if spec.bpmn_id is None:
                continue  # the engine's own joins and markers, never drawn
            if task.state == TaskState.COMPLETED:
                counts = self.visits.setdefault(diagram, {})
                counts[spec.bpmn_id] = counts.get(spec.bpmn_id, 0) + 1
            if isinstance(spec, CallActivity):
                self.calls.setdefault(diagram, {})[spec.bpmn_id] = str(spec.spec)


def pruned_of(workflow: BpmnWorkflow) -> Pruned:
    """The counts of what earlier steps dropped from ``workflow`` (a top workflow)."""
    pruned = getattr(workflow, "kefu_pruned", None)
    if not isinstance(pruned, Pruned):
        pruned = Pruned()
        workflow.kefu_pruned = pruned
    return pruned


def prune(workflow: BpmnWorkflow, keep: int = KEEP_LEVELS) -> int:
    """Drop the finished tasks more than ``keep`` levels above everything in play; return how many."""
    dropped = _prune_one(workflow, workflow, keep)
    for subprocess in list(workflow.subprocesses.values()):
        if subprocess.parent_task_id in workflow.subprocesses and not subprocess.completed:
            dropped += _prune_one(workflow, subprocess, keep)
    return dropped


def diagram_of(workflow: Any) -> str:
    """The BPMN process whose diagram draws ``workflow``'s tasks: a called process, not an embedded sub-process."""
    top = workflow.top_workflow
    while workflow is not top:
        parent_task = top.get_task_from_id(workflow.parent_task_id)
        if isinstance(parent_task.task_spec, CallActivity):
            break
        workflow = parent_task.workflow
    return str(workflow.spec.name)


def _prune_one(top: BpmnWorkflow, workflow: Any, keep: int) -> int:
    if len(workflow.tasks) <= keep + 1:
        return 0  # no task can be more than ``keep`` levels above another: the usual case, at no cost
    if not _prunable(workflow.spec):
        return 0
    if not any(task.has_state(TaskState.NOT_FINISHED_MASK) for task in workflow.tasks.values()):
        return 0  # finished: written once more, never run again
    plan = _Plan(workflow, keep)
    if not plan.dropped:
        return 0
    pruned = pruned_of(top)
    pruned.record(diagram_of(workflow), plan.dropped)
    called = [subprocess for task in plan.dropped for subprocess in _subprocesses_under(top, task)]
    for subprocess in called:  # each diagram is found before any sub-process is removed: it looks up the tree
        pruned.record(diagram_of(subprocess), subprocess.tasks.values())
    for subprocess in called:
        del top.subprocesses[subprocess.parent_task_id]
    plan.relink()
    for task in plan.dropped:
        del workflow.tasks[task.id]
    return len(plan.dropped)


class _Plan:
    """Which tasks of one workflow stay (``kept``) and which go (``dropped``)."""

    def __init__(self, workflow: Any, keep: int) -> None:
        self.workflow = workflow
        root = workflow.task_tree
        needed = _needed(workflow, keep)
        near: dict[UUID, int] = {}  # within the levels kept above a needed task -> levels still allowed above it
        for task, levels in needed:
            budget: int = levels
            current: Task | None = task
            while current is not None and near.get(current.id, -1) < budget:
                near[current.id] = budget
                current, budget = current.parent, budget - 1
                if budget < 0:
                    break
        leading: dict[UUID, list[UUID]] = {}  # a task on the way from the root to a needed one -> its children on it
        for task, _levels in needed:
            current = task
            leading.setdefault(current.id, [])
            while current.parent is not None and current.id not in leading.get(current.parent.id, ()):
                leading.setdefault(current.parent.id, []).append(current.id)
                current = current.parent
        self.leading = leading
        spine = {task_id for task_id, children in leading.items() if task_id in near or len(children) != 1}
        spine.add(root.id)
        self.kept: set[UUID] = set()
        self.dropped: list[Task] = []
        stack: list[tuple[Task, bool]] = [(root, False)]  # a task, and whether a branch hanging off there stays
        while stack:
            task, branch_stays = stack.pop()
            if task.id in spine:
                kept, branch_stays = True, task.id in near
            elif task.id in leading:
                kept = branch_stays = False  # a finished link of a long chain, far above everything in play
            else:
                kept = branch_stays  # a finished branch: kept with the recent history it hangs off
            if kept:
                self.kept.add(task.id)
            else:
                self.dropped.append(task)
            stack.extend((child, branch_stays) for child in task.children if child is not None)

    def relink(self) -> None:
        """Each kept task's children become the kept tasks below it, a dropped chain's end in the chain's place."""
        tasks = self.workflow.tasks
        for task_id in self.kept:
            task = tasks[task_id]
            children = []
            for child_id in task._children:
                while child_id not in self.kept and len(self.leading.get(child_id, ())) == 1:
                    child_id = self.leading[child_id][0]  # down a dropped chain to the kept task at its end
                if child_id in self.kept:
                    children.append(child_id)
                    tasks[child_id]._parent = task_id
            task._children = children


def _needed(workflow: Any, keep: int) -> list[tuple[Task, int]]:
    """The tasks the engine may still read, each with how many finished levels above it stay.

    The unfinished tasks, the last completed one and the split a waiting join looks back for keep ``keep``
    levels. A finished task of a join where branches meet (parallel gateway, a process's end) keeps its parent,
    whose data and state the next task of that join reads, unless it lies above every unfinished task: a join
    skips its own ancestors.
    """
    unfinished = [task for task in workflow.tasks.values() if task.has_state(TaskState.NOT_FINISHED_MASK)]
    needed = [(task, keep) for task in unfinished]
    for task in unfinished:
        split = getattr(task.task_spec, "split_task", None)
        found = next((a for a in _ancestors(task) if a.task_spec.name == split), None) if split else None
        if found is not None:
            needed.append((found, keep))
    above_all = _common_ancestors(unfinished)
    needed += [(task, 1) for task in workflow.tasks.values() if isinstance(task.task_spec, UnstructuredJoin)
               and task.has_state(TaskState.FINISHED_MASK) and task.id not in above_all]
    last = workflow.last_task
    if last is not None and last.id in workflow.tasks:
        needed.append((last, keep))
    return needed


def _common_ancestors(tasks: list[Task]) -> set[UUID]:
    """The ids of the tasks above (or at) all of ``tasks``: their deepest common ancestor and its ancestors."""
    path = [tasks[0], *_ancestors(tasks[0])]  # from a task up to the root
    position = {task.id: index for index, task in enumerate(path)}
    highest = 0
    for task in tasks[1:]:
        walked = []
        while task.id not in position:
            walked.append(task.id)
            task = task.parent
        index = position[task.id]
        position.update((task_id, index) for task_id in walked)  # a later walk stops where this one met the path
        highest = max(highest, index)
    return {task.id for task in path[highest:]}


def _prunable(spec: Any) -> bool:
    """Whether nothing in ``spec`` reads old rounds of its task tree in a way pruning would change.

    An ad hoc sub-process or a process started by messages adds paths at the root of the tree; an inclusive
    gateway looks for the *first* task of its own on each path from the root, an earlier round in a loop.
    """
    if isinstance(spec, AdHocSubprocessSpec) or getattr(spec.start, "trigger_specs", None):
        return False
    return not any(isinstance(task_spec, InclusiveGateway) for task_spec in spec.task_specs.values())


def _ancestors(task: Task) -> Iterator[Task]:
    """The task's parent, its parent's parent… (a loop, not recursion: the tree may be deep)."""
    parent = task.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _subprocesses_under(top: BpmnWorkflow, task: Task) -> list[Any]:
    """The sub-process ``task`` ran, and the ones those ran in turn."""
    found: list[Any] = []
    pending = [task.id]
    while pending:
        subprocess = top.subprocesses.get(pending.pop())
        if subprocess is not None:
            found.append(subprocess)
            pending.extend(sub_id for sub_id in subprocess.tasks if sub_id in top.subprocesses)
    return found
