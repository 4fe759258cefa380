"""Starting process instances and reading where they stand."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import joinedload

from app.engine import EngineRunError, StepResult
from app.extensions import db
from app.models import AuditEvent as AuditEvent  # re-exported with ProcessInstance: an instance's detail holds them
from app.models import Bundle, HumanTask, Project, Ticket, User
from app.models import ProcessInstance as ProcessInstance
from app.services.access import Actor, is_supervisor, may_act_on_task, may_start
from app.services.errors import ConflictError, ForbiddenError, InvalidFormError, NotFoundError, msg
from app.services.people.organisation import ticket_project_hidden
from app.services.runtime import BundleFacts, Runtime
from app.services.steps.plan import (
    InstanceOutcome,
    TaskSnapshot,
    event_row,
    insert_started,
    open_tasks_of,
    step_transaction,
)
from app.services.work.forms import clean_submission

# What someone does to an instance that does not make them one of its participants (no reading right).
GRANTS_NOTHING = ("call_attached", "chased")  # recording a call, and the chase it counts


@dataclass(frozen=True)
class InstanceDetail:
    instance: ProcessInstance
    facts: BundleFacts
    bundle_version: int
    open_tasks: list[TaskSnapshot]
    events: list[AuditEvent]
    started_by: str | None


@dataclass(frozen=True)
class DeployedProcess:
    version: int
    facts: BundleFacts


def latest_processes(rt: Runtime) -> list[DeployedProcess]:
    newest = (select(Bundle.process_id, func.max(Bundle.version).label("version"))
              .group_by(Bundle.process_id).subquery())
    rows = db.session.execute(
        select(Bundle.version, Bundle.spec_key)
        .join(newest, (Bundle.process_id == newest.c.process_id) & (Bundle.version == newest.c.version))
        .order_by(Bundle.process_id)
    )
    return [DeployedProcess(version, rt.bundles.get(spec_key)) for version, spec_key in rows]


def startable_processes(rt: Runtime, *, user: Actor) -> list[DeployedProcess]:
    return [process for process in latest_processes(rt) if may_start(user, process.facts.start_roles)]


@dataclass(frozen=True)
class StartPlan:
    """A checked request to start a process: which bundle, and the cleaned start-form data."""

    bundle_id: int
    spec_key: str
    facts: BundleFacts
    data: dict[str, Any]


def plan_start(rt: Runtime, process_id: str, data: Any, *, user: Actor) -> StartPlan:
    """Check a start of the latest version of ``process_id``; raise NotFound/Forbidden/InvalidForm."""
    bundle_id, facts = _startable(rt, process_id, user)
    clean = clean_submission(start_form(facts), data)
    return StartPlan(bundle_id, facts.spec_key, facts, clean)


def start_form_for(rt: Runtime, process_id: str, *, user: Actor) -> dict[str, Any] | None:
    """The start form of the latest version of ``process_id``, for a user who may start it."""
    return start_form(_startable(rt, process_id, user)[1])


def start_form(facts: BundleFacts) -> dict[str, Any] | None:
    return facts.forms.get(facts.start_form) if facts.start_form else None


def _startable(rt: Runtime, process_id: str, user: Actor) -> tuple[int, BundleFacts]:
    # The sign-in query read the bundles' stamp (``Principal.bundles_stamp``): unchanged, no read of the latest.
    latest = rt.latest_bundles.of(process_id, stamp=getattr(user, "bundles_stamp", None))
    if latest is None:
        raise NotFoundError(msg("no deployed process '%(process_id)s'", process_id=process_id))
    bundle_id, spec_key = latest
    facts = rt.bundles.get(spec_key)
    if not may_start(user, facts.start_roles):
        raise ForbiddenError(msg("your role may not start this process"))
    return bundle_id, facts


def run_start(rt: Runtime, plan: StartPlan, *, user: Actor | None, system_data: Mapping[str, Any] | None = None,
              also_write: Callable[[int, StepResult | None], None] | None = None) -> InstanceOutcome:
    """Start the instance: state, tasks, audit (and ``also_write``'s rows) in one transaction.

    ``system_data`` is added to the form data after validation (what the system knows, not the user);
    ``user`` None is the system itself (a timer's step).
    """
    actor_id = user.id if user is not None else None
    data = {**plan.data, **(system_data or {})}
    now = rt.clock.now()
    try:
        result, error = rt.engine.start(plan.spec_key, data), None
    except EngineRunError as exc:
        result, error = None, exc.details
    events = [event_row(0, "start", at=now, actor_id=actor_id, data=plan.data)]
    if error is not None:
        events.append(event_row(0, "error", at=now, data={"message": error.message}))
    with step_transaction():
        instance_id, open_tasks = insert_started(
            bundle_id=plan.bundle_id, process_id=plan.facts.process_id, spec_key=plan.spec_key, result=result,
            error=error, started_by_id=actor_id, now=now, project_key=project_of(data), facts=plan.facts,
            events=events)
        if also_write is not None:
            also_write(instance_id, result)
    return InstanceOutcome(instance_id, result.status if result else "error", open_tasks)


def project_of(data: Mapping[str, Any]) -> str | None:
    """The project an instance is started for: its start data's ``project`` when it names a project
    (docs/flow-contract.md). Its tasks are for that project's staff only, as a ticket's are."""
    key = data.get("project")
    if not isinstance(key, str) or not key or db.session.get(Project, key) is None:
        return None
    return key


def start_for_the_system(rt: Runtime, process_id: str, data: Any, *, user: Actor | None) -> InstanceOutcome | None:
    """Start the latest ``process_id`` because a step needs it, whoever acted (no start-role check);
    the data is still checked by its start form (InvalidForm). None when it is not deployed.
    """
    latest = rt.latest_bundles.of(process_id, stamp=None)
    if latest is None:
        return None
    facts = rt.bundles.get(latest[1])
    return run_start(rt, StartPlan(latest[0], facts.spec_key, facts, clean_submission(start_form(facts), data)),
                     user=user)


def start_instance(rt: Runtime, process_id: str, data: Any, *, user: Actor) -> InstanceOutcome:
    """Start the latest version of ``process_id``; raise NotFound/Forbidden/InvalidForm.

    A ticket process is refused (TicketProcessError, 409): without the ticket's system data its later
    steps would fail. ``tickets.start_process`` opens the ticket for the processes that record a call.
    """
    plan = plan_start(rt, process_id, data, user=user)
    if ticket_kind(plan.facts) is not None:
        raise TicketProcessError(TICKET_ROUTE_MESSAGE, process_id=process_id)
    project_key = project_of(plan.data)
    if ticket_project_hidden(project_key, user):  # as if it did not exist, as a ticket's project
        raise InvalidFormError(msg("the form has errors"),
                               errors={"project": msg("no project %(key)s", key=project_key)})
    return run_start(rt, plan, user=user)


class TicketProcessError(ConflictError):
    code = "ticket_process"


# What the ticket service adds when a ticket starts (docs/flow-contract.md); a diagram that reads one
# of these needs a ticket.
TICKET_DATA = ("ticket_number", "reported_at", "handover_date", "common_area", "reopened_from")
TICKET_INTAKE_FIELDS = ("project", "unit", "category")  # what a ticket row cannot be without
TICKET_ROUTE_MESSAGE = msg("this process runs as part of a ticket: record the call with POST /api/v1/tickets")
_READS_TICKET_DATA = re.compile(r"\b(?:" + "|".join(TICKET_DATA) + r")\b")
TicketKind = Literal["intake", "part"] | None
_ticket_kinds: dict[str, TicketKind] = {}


def ticket_kind(facts: BundleFacts) -> TicketKind:
    """``intake``: a ticket process whose start form records a call (a ticket is opened with it);
    ``part``: a ticket process that only runs inside a ticket (complaint, repair, callback); None: not a ticket's.

    A process is a ticket's when its diagrams or tables read the ticket's system data. Cached by spec
    key (content-addressed, so never stale).
    """
    if facts.spec_key not in _ticket_kinds:
        _ticket_kinds[facts.spec_key] = _ticket_kind_of(facts)
    return _ticket_kinds[facts.spec_key]


def _ticket_kind_of(facts: BundleFacts) -> TicketKind:
    files = db.session.scalars(select(Bundle.files).where(Bundle.spec_key == facts.spec_key).limit(1)).first() or {}
    diagrams = (text for name, text in files.items() if name.endswith((".bpmn", ".dmn")))
    if not any(_READS_TICKET_DATA.search(text) for text in diagrams):
        return None
    required = set((start_form(facts) or {}).get("required") or ())
    return "intake" if required.issuperset(TICKET_INTAKE_FIELDS) else "part"


def instance_detail(rt: Runtime, instance_id: int, *, user: Actor) -> InstanceDetail:
    """An instance with its open tasks and audit trail; raise NotFound/Forbidden."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError(msg("no instance %(instance_id)s", instance_id=instance_id))
    project_key = db.session.scalar(select(Ticket.project_key).where(Ticket.instance_id == instance.id)) \
        or instance.project_key
    if ticket_project_hidden(project_key, user):
        raise NotFoundError(msg("no instance %(instance_id)s", instance_id=instance_id))
    open_tasks = open_tasks_of(instance.id)
    if not _may_read(user, instance, open_tasks):
        raise ForbiddenError(msg("you may not see this instance"))
    events = list(db.session.scalars(
        select(AuditEvent).options(joinedload(AuditEvent.actor))
        .where(AuditEvent.instance_id == instance.id).order_by(AuditEvent.id)
    ))
    starter = db.session.get(User, instance.started_by_id) if instance.started_by_id else None
    version = db.session.scalar(select(Bundle.version).where(Bundle.id == instance.bundle_id))
    return InstanceDetail(instance, rt.bundles.get(instance.spec_key), version or 0, open_tasks, events,
                          starter.username if starter else None)


def _may_read(user: Actor, instance: ProcessInstance, open_tasks: list[TaskSnapshot]) -> bool:
    """Participants (started it, acted on it, or may act on an open task), supervisors and admins."""
    if is_supervisor(user) or instance.started_by_id == user.id:
        return True
    return any(may_act_on_task(user, task) for task in open_tasks) or took_part(user, instance.id)


def took_part(user: Actor, instance_id: int) -> bool:
    """Whether ``user`` worked on the instance: started it, acted on it or claimed or completed one of its tasks.

    Recording a repeated call on a ticket (``call_attached``) is not working on it: it grants nothing.
    """
    return instance_id in took_part_in(user, [instance_id])


def took_part_in(user: Actor, instance_ids: Collection[int]) -> set[int]:
    """The instances of ``instance_ids`` the user took part in (``took_part``), in one statement."""
    if not instance_ids:
        return set()
    acted = select(AuditEvent.instance_id).where(AuditEvent.instance_id.in_(instance_ids),
                                                 AuditEvent.actor_id == user.id,
                                                 AuditEvent.action.not_in(GRANTS_NOTHING))
    started = select(ProcessInstance.id).where(ProcessInstance.id.in_(instance_ids),
                                               ProcessInstance.started_by_id == user.id)
    claimed = select(HumanTask.instance_id).where(HumanTask.instance_id.in_(instance_ids),
                                                  or_(HumanTask.claimed_by_id == user.id,
                                                      HumanTask.completed_by_id == user.id))
    return set(db.session.scalars(union(acted, started, claimed)))
