"""Scenarios: whole tickets through the JSON API, on the shipped diagrams, tables and forms.

Every test gets its own database with ``bpmn/`` and ``forms/`` deployed as shipped, the project
"lanting" (兰亭苑) with its units (a copy of one database made once per run, ``estate_template``), and one
person per role (``staff``). A test reads as the desk's
day: a call is recorded (``desk.open``), each person finds their task in their inbox and does it
(``desk.handle``), people of the wrong role or department are refused (``not_by``), and the ticket
and instance are read back the way the console reads them.

``desk.wait`` moves the manual clock and runs the worker once (``app.worker.Worker.run_pending``):
every due job runs — instances' timers (stored like a task completion, the ticket synced in the
same transaction), deadline reminders and level-3 escalations — and the outbox is delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from app.clock import ManualClock
from app.services.definitions.deploy import deploy_files
from app.services.people.organisation import create_project, create_unit
from app.services.work.timers import due_instance_ids
from app.worker import Worker
from tests.conftest import Api, filled_database
from tests.databases import TestDatabases
from tests.support.fixtures import START
from tests.support.paths import ROOT

SHIPPED = {path.name: path.read_bytes()
           for folder in ("bpmn", "forms") for path in sorted((ROOT / folder).iterdir())
           if path.suffix in (".bpmn", ".dmn", ".json")}

TODAY = START.date()  # Monday 2026-03-02; the clock starts at 09:00 in Shanghai
HANDED_OVER_2_YEARS_AGO = "3栋-1202"
HANDED_OVER_6_YEARS_AGO = "1栋-0302"
COMMON_AREA = "5栋外墙"
OTHER_PROJECT_UNIT = "1栋-0101"  # in binjiang (滨江府)
OWNER_PHONE = "13812345678"
TECHNICIAN = "tech"
SIGNATURE = "files/signature-0001.png"
A_MINUTE = timedelta(minutes=1)
NIGHT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # Monday 22:00 in Shanghai
NEXT_MORNING = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # Tuesday 08:00 in Shanghai


def years_before_today(years: int) -> date:
    return TODAY.replace(year=TODAY.year - years)


# ---- what each form is filled with on the happy path (forms/*.json) ---------------------------------------

def intake(**changes: Any) -> dict[str, Any]:
    """What the agent records on the New Ticket page (reception_intake.json): by default a roof leak.

    A change to None leaves the field out.
    """
    recorded = {"project": "lanting", "unit": HANDED_OVER_2_YEARS_AGO, "caller_name": "王先生", "phone": OWNER_PHONE,
                "channel": "hotline", "category": "repair", "part": "roof_waterproof",
                "description": "顶层卧室天花板渗水。", "urgency": "normal", "emergency": False, **changes}
    return {name: value for name, value in recorded.items() if value is not None}


DISPATCH = {"technician": TECHNICIAN, "dispatch_note": "带防水材料。"}
APPOINTMENT = {"appointment_at": "2026-03-03T09:00:00+08:00"}
INSPECTION = {"reschedule": False, "owner_withdraws": False, "waiting_for_parts": False,
              "inspected_part": "屋面防水层", "repair_items": "局部重做防水层。",
              "quote_labour": 200.0, "quote_material": 150.5}
REPAIR_DONE = {"waiting_for_parts": False, "actual_labour_hours": 3.5, "materials": "防水涂料 2 桶",
               "fee_labour": 200.0, "fee_material": 150.5, "completed_at": "2026-03-03T15:00:00+08:00"}
ACCEPTED = {"owner_accepts": True, "owner_signature": SIGNATURE}
CONFIRMED = {"confirmed": True}
SATISFIED = {"reached": True, "satisfaction": "satisfied", "remarks": "师傅很专业，已经不漏了。"}
UNREACHED = {"reached": False}
REVIEWED = {"approved": True, "review_note": "按时完成。"}

VALID_LEAK = {"withdrawn": False, "valid": True, "responsible_department": "engineering",
              "complaint_type": "leak_crack", "severity": "normal", "judgement_note": "防水质量问题，在保修期内。"}
INVALID = {"withdrawn": False, "valid": False, "judgement_note": "墙面是业主自行装修后开裂，不属于交付质量问题。"}
INVESTIGATED = {"withdrawn": False, "send_back": False, "contacted_owner_at": "2026-03-02T10:30:00+08:00",
                "cause": "卫生间防水层破损。", "responsibility": "product_quality"}
CLASSIFIED = {"complaint_type": "leak_crack", "root_cause": "product_quality",
              "responsible_department": "engineering", "hot_spot": "leak_crack"}


# ---- the estate and the people --------------------------------------------------------------------------

def create_estate_places() -> None:
    """Lanting with units of every kind (handed over 2 and 6 years ago, a common area), and a second project."""
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    create_unit("lanting", HANDED_OVER_2_YEARS_AGO, owner_name="王先生", owner_phone=OWNER_PHONE,
                handover_date=years_before_today(2))
    create_unit("lanting", HANDED_OVER_6_YEARS_AGO, owner_name="李女士", owner_phone="13912345678",
                handover_date=years_before_today(6))
    create_unit("lanting", COMMON_AREA, handover_date=years_before_today(6), is_common_area=True)
    create_unit("binjiang", OTHER_PROJECT_UNIT, handover_date=years_before_today(1))


@pytest.fixture(scope="session")
def estate_template(databases: TestDatabases) -> str:
    """A database with the shipped definitions deployed and the estate's places, made once per run (per pytest-xdist
    worker) at ``START`` on a fresh app, then copied for every test that asks for ``estate``: deploying every
    shipped diagram is most of a scenario's set-up. The test's own app reads the stored definitions, as an app
    restarted after a deploy does."""

    def fill(app: Flask) -> None:
        deployed = deploy_files(app.extensions["kefu"], SHIPPED, user=None)
        assert "reception" in {version.process_id for version in deployed}
        create_estate_places()

    return filled_database(databases, fill)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, databases: TestDatabases) -> Iterator[str]:
    """A test that asks for ``estate`` (``staff`` and ``desk`` do) starts from a copy of ``estate_template``."""
    template = request.getfixturevalue("estate_template") if "estate" in request.fixturenames else None
    url = databases.clone(template)
    yield url
    databases.drop(url)


@pytest.fixture
def estate(app: Flask, clock: ManualClock) -> None:
    """The shipped definitions deployed; lanting with units of every kind, and a second project.

    Already in the test's database (a copy of ``estate_template``, made at ``START``).
    """
    assert clock.now() == START, "the estate is deployed at START; move the clock in the test, after it"


@dataclass(frozen=True)
class Staff:
    """One person per role; the usernames are the attribute names."""

    agent: Api  # cs_agent
    night: Api  # night_security
    supervisor: Api  # cs_supervisor
    eng_owner: Api  # dept_owner, engineering
    prop_owner: Api  # dept_owner, property
    service_owner: Api  # dept_owner, service
    head: Api  # dept_head, engineering + property
    eng_super: Api  # eng_supervisor, engineering
    prop_super: Api  # eng_supervisor, property
    tech: Api  # technician (engineering)
    other_tech: Api  # technician (engineering), not the one dispatched
    manager: Api  # property_manager


@pytest.fixture
def staff(estate: None, api_as: Callable[..., Api]) -> Staff:
    return Staff(
        agent=api_as("agent", "cs_agent"),
        night=api_as("night", "night_security"),
        supervisor=api_as("supervisor", "cs_supervisor"),
        eng_owner=api_as("eng_owner", "dept_owner", departments=("engineering",)),
        prop_owner=api_as("prop_owner", "dept_owner", departments=("property",)),
        service_owner=api_as("service_owner", "dept_owner", departments=("service",)),
        head=api_as("head", "dept_head", departments=("engineering", "property")),
        eng_super=api_as("eng_super", "eng_supervisor", departments=("engineering",)),
        prop_super=api_as("prop_super", "eng_supervisor", departments=("property",)),
        tech=api_as(TECHNICIAN, "technician", departments=("engineering",)),
        other_tech=api_as("other_tech", "technician", departments=("engineering",)),
        manager=api_as("manager", "property_manager"),
    )


# ---- the desk: tickets, tasks, time ---------------------------------------------------------------------

@dataclass(frozen=True)
class Opened:
    """A ticket as its number and its reception instance."""

    number: str
    instance_id: int


@dataclass
class Desk:
    app: Flask
    clock: ManualClock
    staff: Staff

    def open(self, by: Api | None = None, **changes: Any) -> Opened:
        """Record a call (POST /tickets) with ``intake(**changes)``; by the day agent unless ``by`` is given."""
        response = (by or self.staff.agent).post("/tickets", json={"data": intake(**changes)})
        assert response.status_code == 201, response.json
        return Opened(response.json["ticket"]["number"], response.json["instance"]["id"])

    def ticket(self, opened: Opened | str) -> dict[str, Any]:
        """GET /tickets/<number> as the front desk sees it."""
        number = opened.number if isinstance(opened, Opened) else opened
        response = self.staff.agent.get(f"/tickets/{number}")
        assert response.status_code == 200, response.json
        return response.json

    def instance(self, opened: Opened) -> dict[str, Any]:
        """GET /instances/<id> as the CS supervisor sees it (supervisors may read every instance)."""
        response = self.staff.supervisor.get(f"/instances/{opened.instance_id}")
        assert response.status_code == 200, response.json
        return response.json

    def status(self, opened: Opened) -> str:
        return self.instance(opened)["status"]

    def open_task_names(self, opened: Opened) -> list[str]:
        return sorted(task["name"] for task in self.instance(opened)["tasks"])

    def task_for(self, user: Api, opened: Opened, element_id: str) -> dict[str, Any]:
        """The one open task ``element_id`` of this ticket in ``user``'s inbox (their group or their own)."""
        seen = [task for scope in ("group", "mine") for task in _listed(user, scope)
                if task["instance_id"] == opened.instance_id and task["name"] == element_id]
        assert len(seen) == 1, (f"{user.user.username} should see one '{element_id}' on {opened.number}; "
                                f"the ticket's open tasks: {self.instance(opened)['tasks']}")
        return seen[0]

    def task_data(self, user: Api, task: Mapping[str, Any]) -> dict[str, Any]:
        """What the task's form and instructions show (GET /tasks/<id>)."""
        response = user.get(f"/tasks/{task['id']}")
        assert response.status_code == 200, response.json
        return response.json["data"]

    def handle(self, user: Api, opened: Opened, element_id: str, data: Mapping[str, Any] | None = None, *,
               not_by: Iterable[Api] = ()) -> dict[str, Any]:
        """``user`` finds the task in their inbox and completes it; everyone in ``not_by`` is refused first.

        Returns the task as it was listed (role, department, assignee, due_at).
        """
        task = self.task_for(user, opened, element_id)
        self.refused(task, *not_by)
        response = user.complete(task["id"], dict(data or {}))
        assert response.status_code == 200, response.json
        return task

    @staticmethod
    def refused(task: Mapping[str, Any], *users: Api) -> None:
        """Each of ``users`` is refused the task with 403."""
        for user in users:
            response = user.complete(task["id"], {})
            assert response.status_code == 403, (user.user.username, task["name"], response.json)

    def wait(self, delta: timedelta, opened: Opened) -> list[str]:
        """Move the clock on by ``delta``, fire every due timer as the worker would; return the ticket's open tasks."""
        self.clock.advance(delta)
        run_timer_worker(self.app)
        return self.open_task_names(opened)

    def wait_until_due(self, opened: Opened) -> list[str]:
        """Move the clock just past the ticket's next timer and fire it; return its open task names."""
        due = self.instance(opened)["next_timer_at"]
        assert due is not None, f"{opened.number} waits for no timer"
        self.clock.set(max(self.clock.now(), datetime.fromisoformat(due)) + timedelta(seconds=1))
        assert opened.instance_id in run_timer_worker(self.app)
        return self.open_task_names(opened)


def _listed(user: Api, scope: str) -> list[dict[str, Any]]:
    response = user.get("/tasks", query_string={"scope": scope, "limit": 200})
    assert response.status_code == 200, response.json
    return response.json["items"]


def holder(task: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Who a task is for: its role, department and named assignee."""
    return task["role"], task["department"], task["assignee"]


def run_timer_worker(app: Flask) -> list[int]:
    """Run the worker once, as ``flask worker`` does when it wakes; returns the instances whose timers were due.

    The due instances are read before the run, from the instances themselves, so a timer whose job
    went missing would show up as a timer that did not fire.
    """
    due = due_instance_ids(app.extensions["kefu"].clock.now())
    Worker(app).run_pending()
    return due


@pytest.fixture
def desk(app: Flask, clock: ManualClock, staff: Staff) -> Desk:
    return Desk(app, clock, staff)


# ---- walks that several scenarios share ---------------------------------------------------------------

def repair_until_confirmation(desk: Desk, opened: Opened, supervisor: Api) -> None:
    """A free repair from dispatch to the supervisor's confirmation: the callback is next."""
    staff = desk.staff
    desk.handle(supervisor, opened, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, opened, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, opened, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, opened, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, opened, "owner_acceptance", ACCEPTED)
    desk.handle(supervisor, opened, "confirm_repair", CONFIRMED)


def call_back(desk: Desk, opened: Opened, answer: Mapping[str, Any] = SATISFIED) -> dict[str, Any]:
    """Wait for the callback if it waits, then the agent calls the owner and records ``answer``."""
    if "call_owner" not in desk.open_task_names(opened):
        assert desk.wait_until_due(opened) == ["call_owner"]
    return desk.handle(desk.staff.agent, opened, "call_owner", answer)
