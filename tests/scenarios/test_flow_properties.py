"""The four flows under random use: whatever the forms accept, done by whoever may do it, at any time.

A hypothesis state machine drives the shipped flows through the JSON API as the role users of the
scenarios (with departments, and two users limited to one project): it records calls
(``POST /tickets``) with intake data generated from ``reception_intake.json``, lets a person who has a
task in their inbox claim or complete it with data generated from the task's own form (people pickers
offer who the console offers), lets someone who does not have it try (403, 404 or 409, and nothing
changes), and moves the clock on and runs the worker so timers, reminders and escalations fire.

After every step: no answer is a 500, no instance is in ``error``, every timer that is due has fired,
a finished instance's ticket is closed, and every open task of a running ticket is in the inbox of at
least one active user (asked through the API as each of them).

Each example starts from a fresh copy of one estate database (the shipped definitions deployed, the
projects, units and users created once per run). The seed is fixed (``derandomize``), so ``make test``
runs the same examples every time; ``pytest --flow-examples=2000`` (or ``KEFU_FLOW_EXAMPLES``) runs more.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.clock import ManualClock
from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance, Ticket
from app.services.definitions.deploy import deploy_files
from app.services.people.auth import issue_token
from app.services.people.organisation import limit_user_to_projects
from app.services.people.users import create_user
from app.services.work.people_choice import people_to_pick
from app.services.work.staffing import supervisor_of
from app.services.work.timers import due_instance_ids
from app.worker import Worker
from tests import databases as test_databases
from tests.conftest import Api, ApiUser, app_config
from tests.scenarios.conftest import (
    COMMON_AREA,
    HANDED_OVER_2_YEARS_AGO,
    HANDED_OVER_6_YEARS_AGO,
    OTHER_PROJECT_UNIT,
    SHIPPED,
    create_estate_places,
)
from tests.scenarios.form_data import submissions
from tests.support.fixtures import START

DEFAULT_EXAMPLES = 6
STEPS = 45

# username, roles, departments, projects (none: every project); the staff of tests/scenarios/conftest.py
# and two people who work on one project only.
PEOPLE: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("agent", ("cs_agent",), (), ()),
    ("night", ("night_security",), (), ()),
    ("supervisor", ("cs_supervisor",), (), ()),
    ("eng_owner", ("dept_owner",), ("engineering",), ()),
    ("prop_owner", ("dept_owner",), ("property",), ()),
    ("service_owner", ("dept_owner",), ("service",), ()),
    ("head", ("dept_head",), ("engineering", "property"), ()),
    ("eng_super", ("eng_supervisor",), ("engineering",), ()),
    ("prop_super", ("eng_supervisor",), ("property",), ()),
    ("tech", ("technician",), ("engineering",), ()),
    ("other_tech", ("technician",), ("engineering",), ()),
    ("manager", ("property_manager",), (), ()),
    ("lanting_agent", ("cs_agent",), (), ("lanting",)),
    ("binjiang_tech", ("technician",), ("engineering",), ("binjiang",)),
)
USERNAMES = tuple(person[0] for person in PEOPLE)
# Who records calls: mostly the desk, sometimes anyone (who may be refused).
CALLERS = ("agent",) * 8 + ("night", "night", "supervisor", "lanting_agent", "tech", "manager")
PROJECTS = ("lanting", "lanting", "binjiang", "nowhere")
# Every category, repairs and complaints (the long flows) more often.
CATEGORIES = ("repair", "repair", "repair", "complaint", "complaint", "complaint", "consultation", "life_service",
              "suggestion", "praise", "other")
UNITS = (HANDED_OVER_2_YEARS_AGO, HANDED_OVER_6_YEARS_AGO, COMMON_AREA, OTHER_PROJECT_UNIT, "2号地库", "1栋大堂")
RETRIES = 3
OPEN_TICKETS = 3  # at most this many open at once, so that the steps take tickets far, not only open them
REFUSED = {403, 404, 409}
WAITS = st.one_of(st.integers(1, 180).map(lambda n: timedelta(minutes=n)),
                  st.integers(1, 72).map(lambda n: timedelta(hours=n)),
                  st.integers(1, 14).map(lambda n: timedelta(days=n)))


# ---- one estate database per run, a copy of it per example ------------------------------------------------

@dataclass(frozen=True)
class Estate:
    url: str
    tokens: Mapping[str, str]


class EstateCopies:
    """Copies of the estate database: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL."""

    def __init__(self, databases: test_databases.TestDatabases, estate: Estate) -> None:
        self.databases = databases
        self.estate = estate
        self._numbers = count(1)

    def copy(self) -> str:
        number = next(self._numbers)
        source = make_url(self.estate.url)
        if not self.databases.is_postgres:
            target = Path(source.database or "").with_name(f"flow{number}.db")
            shutil.copyfile(source.database or "", target)
            return f"sqlite:///{target}"
        name = f"{self.databases.prefix}_flow{number}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
        return source.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        if not self.databases.is_postgres:
            Path(make_url(url).database or "").unlink(missing_ok=True)
            return
        self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.databases.base_url or "", isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def estate_copies(databases: test_databases.TestDatabases) -> Iterator[EstateCopies]:
    url = databases.clone()
    app = create_app(app_config(url), clock=ManualClock(START))
    with app.app_context():
        tokens = _build_estate(app)
        db.session.remove()
        db.engine.dispose()
    yield EstateCopies(databases, Estate(url, tokens))
    databases.drop(url)


def _build_estate(app: Flask) -> dict[str, str]:
    """What the scenarios' ``estate`` and ``staff`` fixtures make, plus the project-limited people."""
    clock = app.extensions["kefu"].clock
    deploy_files(app.extensions["kefu"], SHIPPED, user=None)
    create_estate_places()
    tokens = {}
    for username, roles, departments, projects in PEOPLE:
        user = create_user(username, password="secret-pw-1", roles=roles, departments=departments, clock=clock)
        if projects:
            limit_user_to_projects(user.id, projects)
        tokens[username] = issue_token(user, clock)
    db.session.commit()
    return tokens


# ---- the machine ---------------------------------------------------------------------------------------

class Flows(RuleBasedStateMachine):
    """One example: a fresh estate, then a random day at the desk."""

    copies: EstateCopies  # set by the test before the run
    reached: ClassVar[Counter[str]] = Counter()  # tickets opened and tasks done: a run with none proves nothing

    def __init__(self) -> None:
        super().__init__()
        self.url = self.copies.copy()
        self.clock = ManualClock(START)
        self.app = create_app(app_config(self.url), clock=self.clock)
        self.context = self.app.app_context()
        self.context.push()
        client = self.app.test_client()
        self.users = {name: Api(client, ApiUser(name, token)) for name, token in self.copies.estate.tokens.items()}
        self.open_tickets = 0
        self.inboxes: dict[str, dict[str, Any]] = {}  # open task id -> summary, over every user's inbox
        self.seen_by: dict[str, list[str]] = {}  # open task id -> who has it in their inbox
        self.strategies: dict[tuple[str, tuple[Any, ...]], st.SearchStrategy[dict[str, Any]]] = {}
        self.intake = submissions(self._start_form(), self._people(None, None), self.clock.now,
                                  hints={"project": st.sampled_from(PROJECTS), "category": st.sampled_from(CATEGORIES),
                                         "unit": st.sampled_from(UNITS) | st.text(min_size=1, max_size=20)})

    def teardown(self) -> None:
        db.session.remove()
        db.engine.dispose()
        self.context.pop()
        self.copies.drop(self.url)

    # -- rules --------------------------------------------------------------------------------------------

    @precondition(lambda self: self.open_tickets < OPEN_TICKETS)
    @rule(data=st.data(), caller=st.sampled_from(CALLERS))
    def record_a_call(self, data: st.DataObject, caller: str) -> None:
        recorded = data.draw(self.intake, label="intake")
        response = self.users[caller].post("/tickets", json={"data": recorded})
        _not_a_server_error(response, "POST /tickets", caller, recorded)
        assert response.status_code in {201, 403, 404, 409, 422}, (caller, recorded, response.json)
        event(f"record a call: {response.status_code}")
        Flows.reached["tickets"] += response.status_code == 201

    @precondition(lambda self: bool(self.inboxes))
    @rule(data=st.data(), tasks=st.integers(1, 5))
    def work_the_inboxes(self, data: st.DataObject, tasks: int) -> None:
        """A few tasks in a row (the flows move on only by people doing tasks), checked after each."""
        for done in range(tasks):
            if done:
                self.no_instance_in_error()
                self.every_open_ticket_waits_on_someone_or_a_timer()
            if not self.inboxes:
                return
            self._do_a_task(data)

    def _do_a_task(self, data: st.DataObject) -> None:
        task = data.draw(st.sampled_from(self._open_tasks()), label="task")
        username = data.draw(st.sampled_from(self.seen_by[task["id"]]), label="by")
        user = self.users[username]
        detail = user.get(f"/tasks/{task['id']}")
        _not_a_server_error(detail, "GET /tasks/<id>", username, task["name"])
        assert detail.status_code == 200, (username, task["name"], detail.json)
        for _attempt in range(RETRIES):  # a person told what is wrong fills the form in again
            submitted = data.draw(self._submissions(detail.json), label="data")
            before = self._instance(task["instance_id"])
            response = user.complete(task["id"], submitted)
            _not_a_server_error(response, f"completing {task['name']}", username, submitted)
            assert response.status_code in {200, 422}, (username, task["name"], submitted, response.json)
            event(f"{task['name']}: {response.status_code}")
            if response.status_code == 200:
                Flows.reached["tasks"] += 1
                return
            assert response.json.get("errors"), f"a 422 on {task['name']} names no field: {response.json}"
            assert self._instance(task["instance_id"]) == before, f"a refused {task['name']} changed the instance"

    @precondition(lambda self: bool(self.inboxes))
    @rule(data=st.data())
    def claim_a_task(self, data: st.DataObject) -> None:
        task = data.draw(st.sampled_from(self._open_tasks()), label="task")
        username = data.draw(st.sampled_from(self.seen_by[task["id"]]), label="by")
        response = self.users[username].post(f"/tasks/{task['id']}/claim")
        _not_a_server_error(response, f"claiming {task['name']}", username, None)
        assert response.status_code == 200, (username, task["name"], response.json)

    @precondition(lambda self: bool(self.inboxes))
    @rule(data=st.data())
    def someone_else_tries(self, data: st.DataObject) -> None:
        task = data.draw(st.sampled_from(self._open_tasks()), label="task")
        others = [name for name in USERNAMES if name not in self.seen_by[task["id"]]]
        if not others:
            return
        username = data.draw(st.sampled_from(others), label="by")
        action = data.draw(st.sampled_from(["complete", "claim"]), label="action")
        before = self._instance(task["instance_id"])
        user = self.users[username]
        response = user.complete(task["id"], {}) if action == "complete" else user.post(f"/tasks/{task['id']}/claim")
        _not_a_server_error(response, f"{action} {task['name']} by someone without it", username, None)
        assert response.status_code in REFUSED, (
            f"{username} does not have {task['name']} in their inbox but {action} answered "
            f"{response.status_code}: {response.json}")
        assert self._instance(task["instance_id"]) == before, f"a refused {action} of {task['name']} changed it"

    @rule(wait=WAITS)
    def time_passes(self, wait: timedelta) -> None:
        self.clock.advance(wait)
        Worker(self.app).run_pending()
        late = due_instance_ids(self.clock.now())
        assert not late, f"timers due but not fired after the worker ran: instances {late}"

    # -- invariants ---------------------------------------------------------------------------------------

    @invariant()
    def no_instance_in_error(self) -> None:
        failed = db.session.execute(select(ProcessInstance.id, ProcessInstance.process_id, ProcessInstance.error)
                                    .where(ProcessInstance.status == "error")).all()
        db.session.rollback()
        assert not failed, "instances in error: " + "; ".join(
            f"{row.process_id} #{row.id}: {_error_summary(row.error)}" for row in failed)

    @invariant()
    def every_open_ticket_waits_on_someone_or_a_timer(self) -> None:
        self._read_inboxes()
        tickets = self._tickets()
        self.open_tickets = sum(ticket.closed_at is None for ticket in tickets)
        for ticket in tickets:
            if ticket.status not in ("running", "waiting"):
                assert ticket.closed_at is not None or ticket.status == "error", (
                    f"instance {ticket.instance_id} is {ticket.status} but its ticket {ticket.number} is open")
                continue
            tasks = self._open_tasks_of(ticket.instance_id)
            orphans = [task for task in tasks if task.id not in self.inboxes]
            assert not orphans, f"{ticket.number} waits on tasks no active user has in their inbox: " + ", ".join(
                f"{task.element_id} (role {task.role}, department {task.department}, assignee {task.assignee})"
                for task in orphans)
            assert tasks or ticket.next_timer_at is not None, (
                f"{ticket.number} ({ticket.status}) waits on no task and no timer")

    # -- reading the API and the database -----------------------------------------------------------------

    def _read_inboxes(self) -> None:
        """Every open task as the inboxes list it, asking each user who could hold one (their role or name)."""
        self.inboxes, self.seen_by = {}, {}
        for username in self._possible_holders():
            for scope in ("group", "mine"):
                response = self.users[username].get("/tasks", query_string={"scope": scope, "limit": 200})
                _not_a_server_error(response, f"GET /tasks?scope={scope}", username, None)
                assert response.status_code == 200, response.json
                for task in response.json["items"]:
                    self.inboxes[task["id"]] = task
                    if username not in self.seen_by.setdefault(task["id"], []):
                        self.seen_by[task["id"]].append(username)

    def _possible_holders(self) -> list[str]:
        # Asking all fourteen users twice after every step costs most of the run; the others hold
        # none of the open tasks' roles and are not named on one, so their inboxes are empty of them
        # (``someone_else_tries`` checks that they are refused).
        rows = db.session.execute(select(HumanTask.role, HumanTask.assignee).where(HumanTask.state == "open")
                                  .distinct()).all()
        db.session.rollback()
        roles = {row.role for row in rows}
        roles |= {supervisor_of(role) for role in roles} - {None}  # they stand in for a lane that has nobody
        named = {row.assignee for row in rows}
        return [name for name, person_roles, _departments, _projects in PEOPLE
                if name in named or roles.intersection(person_roles)]

    def _open_tasks(self) -> list[dict[str, Any]]:
        # Task ids are random UUIDs: order by what is the same on every run.
        return sorted(self.inboxes.values(), key=lambda task: (task["instance_id"], task["name"], task["created_at"]))

    def _tickets(self) -> list[Any]:
        rows = db.session.execute(
            select(Ticket.number, Ticket.instance_id, Ticket.closed_at, ProcessInstance.status,
                   ProcessInstance.next_timer_at)
            .join(ProcessInstance, ProcessInstance.id == Ticket.instance_id).order_by(Ticket.instance_id)).all()
        db.session.rollback()
        return list(rows)

    def _open_tasks_of(self, instance_id: int) -> list[Any]:
        rows = db.session.execute(select(HumanTask.id, HumanTask.element_id, HumanTask.role, HumanTask.department,
                                         HumanTask.assignee)
                                  .where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
                                  .order_by(HumanTask.element_id, HumanTask.created_at)).all()
        db.session.rollback()
        return list(rows)

    def _instance(self, instance_id: int) -> tuple[Any, ...]:
        """What a step changes: the instance's state and version, its tasks and claims, its audit trail."""
        instance = db.session.execute(select(ProcessInstance.status, ProcessInstance.lock_version,
                                             ProcessInstance.state).where(ProcessInstance.id == instance_id)).one()
        tasks = db.session.execute(select(HumanTask.id, HumanTask.state, HumanTask.claimed_by_id, HumanTask.assignee)
                                   .where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)).all()
        events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.instance_id == instance_id))
        db.session.rollback()
        return tuple(instance), tuple(tuple(task) for task in tasks), events

    # -- generating submissions ---------------------------------------------------------------------------

    def _start_form(self) -> dict[str, Any]:
        response = self.users["agent"].get("/processes")
        assert response.status_code == 200, response.json
        reception = next(item for item in response.json["items"] if item["id"] == "reception")
        return reception["start_form"]

    def _people(self, department: str | None, project: str | None) -> Callable[[str], list[str]]:
        """Whom a picker offers, as the task page offers them (``app.services.work.people_choice``)."""
        def offered(role: str) -> list[str]:
            people = sorted(people_to_pick(role, department=department, project_key=project).usernames)
            db.session.rollback()
            assert people, f"the form's {role} picker offers nobody (department {department}, project {project})"
            return people

        return offered

    def _submissions(self, task: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        form = task["form"] or {"type": "object", "properties": {}}
        project = db.session.scalar(select(Ticket.project_key).where(Ticket.instance_id == task["instance_id"]))
        db.session.rollback()
        key = (str(task["form_key"]), task["department"], project)
        if key not in self.strategies:
            self.strategies[key] = submissions(form, self._people(task["department"], project), self.clock.now)
        return self.strategies[key]


def _not_a_server_error(response: Any, what: str, username: str, data: Any) -> None:
    assert response.status_code < 500, f"{what} as {username} answered {response.status_code} for {data!r}: " \
                                       f"{response.get_data(as_text=True)[:2000]}"


def _error_summary(error: Any) -> str:
    if isinstance(error, dict):
        return ", ".join(f"{key}={error[key]!r}" for key in ("element", "line", "message") if key in error)
    return repr(error)[:500]


def _examples(config: pytest.Config) -> int:
    chosen = config.getoption("--flow-examples", default=None) or os.environ.get("KEFU_FLOW_EXAMPLES")
    return int(chosen) if chosen else DEFAULT_EXAMPLES


def _phases() -> tuple[Phase, ...]:
    # Shrinking replays whole days at the desk and takes minutes: on demand (KEFU_FLOW_SHRINK=1).
    found = (Phase.explicit, Phase.reuse, Phase.generate)
    return (*found, Phase.shrink) if os.environ.get("KEFU_FLOW_SHRINK") else found


def test_the_flows_hold_under_random_use_by_every_role(estate_copies: EstateCopies,
                                                      pytestconfig: pytest.Config) -> None:
    Flows.copies, Flows.reached = estate_copies, Counter()
    run_state_machine_as_test(Flows, settings=settings(
        max_examples=_examples(pytestconfig), stateful_step_count=STEPS, derandomize=True, database=None,
        deadline=None, print_blob=False, phases=_phases(),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]))
    # A generator that no longer fits a form (its draws all filtered out) would leave only waiting.
    assert Flows.reached["tickets"] and Flows.reached["tasks"], f"the run did nothing: {dict(Flows.reached)}"
