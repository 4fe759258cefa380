"""What the instance, repair, definition and access-log tests share: an estate of tickets and flows, and
a person at a browser (cookie jar + CSRF token) driving the Flask client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance, Ticket
from app.services.people.auth import Principal, principal_for_user
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user, find_user
from app.services.work import tickets as ticket_service
from app.services.work.instances import start_instance
from tests.console_client import PASSWORD, Browser

FIXTURES = Path(__file__).parent.parent / "fixtures"
PEOPLE = {  # username: roles
    "root": ("admin",), "pii": ("admin", "pii_export"), "boss": ("property_manager",), "chen": ("cs_supervisor",),
    "head": ("dept_head",), "wang": ("cs_agent",), "tech": ("technician",), "design": ("designer",),
}
NO_CONDITION_FIXED = (FIXTURES / "no_condition.bpmn").read_text().replace(
    'valid == "yes"', "valid").replace('valid == "no"', "not valid")


@dataclass
class Estate:
    """Flows deployed (the minimal reception, a gateway that can fail), a project, a unit, one person per role."""

    app: Flask
    clock: ManualClock

    def principal(self, username: str) -> Principal:
        user = find_user(username)
        assert user is not None
        principal = principal_for_user(user.id)
        assert principal is not None
        return principal

    def browser(self, username: str) -> Browser:
        browser = Browser(self.app.test_client())
        response = browser.log_in(username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return browser

    def open_ticket(self, **changes: Any) -> str:
        intake = {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
                  "category": "repair", "description": "厨房漏水", **changes}
        try:
            return ticket_service.open_ticket(self.app.extensions["kefu"], intake,
                                              user=self.principal("wang")).number
        finally:
            db.session.remove()

    def start(self, process_id: str) -> int:
        try:
            return start_instance(self.app.extensions["kefu"], process_id, {}, user=self.principal("root")).instance_id
        finally:
            db.session.remove()

    def instance_of(self, number: str) -> int:
        return int(db.session.scalar(select(Ticket.instance_id).where(Ticket.number == number)))

    def instance(self, instance_id: int) -> ProcessInstance:
        found = db.session.get(ProcessInstance, instance_id, populate_existing=True)
        assert found is not None
        return found

    def open_tasks(self, instance_id: int) -> list[HumanTask]:
        return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.state == "open")
                                       .execution_options(populate_existing=True)))

    def events(self, instance_id: int, action: str) -> list[AuditEvent]:
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id,
                                                                AuditEvent.action == action)))


def build_estate(app: Flask, clock: ManualClock, deploy: Any) -> Estate:
    files = {path.name: path.read_bytes() for path in (FIXTURES / "tickets").iterdir()}
    files |= {name: (FIXTURES / name).read_bytes() for name in ("no_condition.bpmn", "gateway_judge.json",
                                                                "five_task.json")}
    deploy(files)
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")
    create_unit("lanting", "5-0101")
    for username, roles in PEOPLE.items():
        create_user(username, password=PASSWORD, roles=roles, clock=clock)
    return Estate(app, clock)


def fail_at_gateway(estate: Estate) -> int:
    """A no_condition instance whose gateway finds no true condition: it stops in ``error``."""
    from app.services.work.tasks import complete_task

    instance_id = estate.start("no_condition")
    task = estate.open_tasks(instance_id)[0]
    outcome = complete_task(estate.app.extensions["kefu"], task.id, {"valid": True}, user=estate.principal("root"))
    db.session.remove()
    assert outcome.status == "error"
    return instance_id
