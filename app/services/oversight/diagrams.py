"""What the admin sees on a diagram: one instance (its page) or one deployed version (the definitions page)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.engine import instance_map
from app.extensions import db
from app.models import (
    UNFINISHED_STATUSES,
    Bundle,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    Ticket,
    User,
)
from app.services.access import Actor
from app.services.errors import NotFoundError, msg
from app.services.people.organisation import ticket_project_hidden
from app.services.runtime import Runtime
from app.services.steps.plan import TaskSnapshot, open_tasks_of
from app.services.steps.write import TASK_IS_OPEN
from app.services.work.inbox import TimelineEntry, timeline_of


@dataclass(frozen=True)
class InstancePage:
    instance: ProcessInstance
    version: int
    ticket: Ticket | None
    timeline: list[TimelineEntry]
    data: dict[str, Any]
    open_tasks: list[TaskSnapshot]
    error: dict[str, Any] | None
    diagram: dict[str, Any]  # for the viewer: elements per process, call targets, failed element
    newer_versions: list[tuple[int, int]]  # (bundle id, version) of the same flow, newer than this one
    started_by: str | None


def instance_page(rt: Runtime, instance_id: int, *, user: Actor) -> InstancePage:
    """Everything the instance page shows; raise NotFoundError (also for a project the user may not see)."""
    instance = db.session.get(ProcessInstance, instance_id, populate_existing=True)
    if instance is None:
        raise NotFoundError(msg("no instance %(instance_id)s", instance_id=instance_id))
    ticket = db.session.scalars(select(Ticket).where(Ticket.instance_id == instance_id)).first()
    if ticket_project_hidden(ticket.project_key if ticket else instance.project_key, user):
        raise NotFoundError(msg("no instance %(instance_id)s", instance_id=instance_id))
    bundle = db.session.execute(select(Bundle.id, Bundle.process_id, Bundle.version)
                                .where(Bundle.id == instance.bundle_id)).one()
    data: dict[str, Any] = {}
    elements: dict[str, Any] = {}
    calls: dict[str, Any] = {}
    if instance.state:  # empty when the very first step failed
        mapped = instance_map(rt.engine, instance.state)
        data = mapped.data
        elements = {diagram: {element: asdict(state) for element, state in states.items()}
                    for diagram, states in mapped.elements.items()}
        calls = mapped.calls
    error = instance.error if isinstance(instance.error, dict) else None
    diagram = {"process_id": instance.process_id, "elements": elements, "calls": calls,
               "failed": (error or {}).get("element_id") if instance.status == InstanceStatus.ERROR else None,
               "processes": sorted(drawn_processes(bundle.id))}
    starter = db.session.get(User, instance.started_by_id) if instance.started_by_id else None
    return InstancePage(instance, bundle.version, ticket, timeline_of(rt, instance_id), data,
                        open_tasks_of(instance_id), error, diagram, newer_versions(bundle),
                        (starter.display_name or starter.username) if starter else None)


def newer_versions(bundle: Any) -> list[tuple[int, int]]:
    return [(row.id, row.version) for row in db.session.execute(
        select(Bundle.id, Bundle.version).where(Bundle.process_id == bundle.process_id,
                                                Bundle.version > bundle.version).order_by(Bundle.version.desc()))]


_PROCESS_TAG = re.compile(r"<(?:\w+:)?process\b[^>]*?\bid=\"([^\"]+)\"")
# spec key (content-addressed: the same key is the same files in any database) -> process id -> file
_DRAWN: dict[str, dict[str, str]] = {}


def drawn_processes(bundle_id: int) -> dict[str, str]:
    """BPMN process id -> the bundle's file that draws it (the files are read once per content)."""
    spec_key = db.session.scalar(select(Bundle.spec_key).where(Bundle.id == bundle_id))
    if spec_key is None:
        return {}
    found = _DRAWN.get(spec_key)
    if found is None:
        files = db.session.scalar(select(Bundle.files).where(Bundle.id == bundle_id)) or {}
        found = {}
        for name, text in sorted(files.items()):
            if name.endswith(".bpmn"):
                for process_id in _PROCESS_TAG.findall(text):
                    found.setdefault(process_id, name)
        _DRAWN[spec_key] = found
    return found


def diagram_xml(bundle_id: int, process_id: str) -> str:
    """The BPMN file of ``bundle_id`` that holds ``process_id``; raise NotFoundError."""
    name = drawn_processes(bundle_id).get(process_id)
    text = db.session.scalar(select(Bundle.files[name].as_string()).where(Bundle.id == bundle_id)) if name else None
    if text is None:
        raise NotFoundError(msg("no diagram for %(process_id)s", process_id=process_id))
    return str(text)


# --- definitions ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VersionRow:
    bundle_id: int
    version: int
    title: str
    source: str
    deployed_by: str | None
    deployed_at: datetime
    counts: dict[str, int]  # status -> instances

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class FlowRow:
    process_id: str
    title: str
    versions: list[VersionRow]


def flows() -> list[FlowRow]:
    """Every deployed flow with its versions (newest first), who deployed each, and instance counts."""
    counts: dict[int, dict[str, int]] = {}
    for bundle_id, status, count in db.session.execute(
            select(ProcessInstance.bundle_id, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.bundle_id, ProcessInstance.status)):
        counts.setdefault(bundle_id, {})[status] = int(count)
    result: dict[str, FlowRow] = {}
    for bundle in db.session.execute(
            select(Bundle.id, Bundle.process_id, Bundle.version, Bundle.title, Bundle.source, Bundle.deployed_at,
                   User.username).outerjoin(User, User.id == Bundle.deployed_by_id)
            .order_by(Bundle.process_id, Bundle.version.desc())):
        flow = result.setdefault(bundle.process_id, FlowRow(bundle.process_id, bundle.title, []))
        flow.versions.append(VersionRow(bundle.id, bundle.version, bundle.title, bundle.source, bundle.username,
                                        bundle.deployed_at, counts.get(bundle.id, {})))
    return list(result.values())


@dataclass(frozen=True)
class VersionPage:
    bundle: Bundle
    deployed_by: str | None
    counts: dict[str, int]
    diagram: dict[str, Any]  # per process: element -> {"waiting": n, "failed": n}


def version_page(bundle_id: int) -> VersionPage:
    """One version with the waiting (open tasks) and failed (errored instances) counts of each element."""
    bundle = db.session.get(Bundle, bundle_id)
    if bundle is None:
        raise NotFoundError(msg("no version %(bundle_id)s", bundle_id=bundle_id))
    elements: dict[str, dict[str, dict[str, int]]] = {}
    for process_id, element_id, count in db.session.execute(
            select(HumanTask.process_id, HumanTask.element_id, func.count())
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(ProcessInstance.bundle_id == bundle_id, TASK_IS_OPEN,
                   ProcessInstance.status.in_(UNFINISHED_STATUSES))
            .group_by(HumanTask.process_id, HumanTask.element_id)):
        elements.setdefault(process_id, {}).setdefault(element_id, {"waiting": 0, "failed": 0})["waiting"] = count
    failed = Counter(error.get("element_id") for error in db.session.scalars(
        select(ProcessInstance.error).where(ProcessInstance.bundle_id == bundle_id,
                                            ProcessInstance.status == InstanceStatus.ERROR)) if isinstance(error, dict))
    for failed_element, count in failed.items():
        if failed_element:  # which diagram failed is not stored: mark the element wherever it is drawn
            elements.setdefault("*", {}).setdefault(failed_element, {"waiting": 0, "failed": 0})["failed"] = count
    counts = {status: int(count) for status, count in db.session.execute(
        select(ProcessInstance.status, func.count()).where(ProcessInstance.bundle_id == bundle_id)
        .group_by(ProcessInstance.status))}
    deployer = db.session.get(User, bundle.deployed_by_id) if bundle.deployed_by_id else None
    diagram = {"process_id": bundle.process_id, "elements": elements, "processes": sorted(drawn_processes(bundle.id))}
    return VersionPage(bundle, deployer.username if deployer else None, counts, diagram)
