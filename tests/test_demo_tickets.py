"""`flask demo` on a new development database: a month of tickets played through the shipped flows.

The demo opens and moves every ticket through the services, so what it leaves behind must hold
together the way real use would: ticket columns, instances, the task index and the audit log agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.config import PROJECT_ROOT
from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance, Ticket
from app.services.definitions.deploy import deploy_from_disk

CATEGORIES = {"repair", "complaint", "consultation", "life_service", "suggestion", "praise", "other"}


@pytest.fixture
def demo_app(app):
    app.config.update(KEFU_ENV="development", BPMN_DIR=PROJECT_ROOT / "bpmn", FORMS_DIR=PROJECT_ROOT / "forms")
    return app


def test_flask_demo_plays_a_month_of_tickets_through_the_shipped_flows(demo_app, clock):
    """One run (it takes a while), two looks at it: what the month shows, and that every row agrees."""
    assert deploy_from_disk(demo_app.extensions["kefu"], demo_app.config["BPMN_DIR"], demo_app.config["FORMS_DIR"])

    result = demo_app.test_cli_runner().invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert summary.startswith("demo tickets: ") and " closed, " in summary, result.output
    db.session.remove()
    tickets = list(db.session.scalars(select(Ticket)))
    looks_like_a_month_at_the_hotline(tickets, clock.now())
    agrees_with_instances_tasks_and_audit_log(tickets)

    again = demo_app.test_cli_runner().invoke(args=["demo"])
    assert "demo tickets already exist" in again.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == len(tickets)


def looks_like_a_month_at_the_hotline(tickets: list[Ticket], now: datetime) -> None:
    assert 200 <= len(tickets) <= 600
    assert all(now - timedelta(days=30) <= ticket.received_at <= now for ticket in tickets)
    assert {ticket.category for ticket in tickets} == CATEGORIES
    assert len({ticket.received_at.date() for ticket in tickets}) >= 28  # every day of the month, not a burst
    assert {ticket.project_key for ticket in tickets} == {"lanting", "binjiang", "cuihu"}

    closed = [ticket for ticket in tickets if ticket.closed_at is not None]
    still_open = [ticket for ticket in tickets if ticket.closed_at is None]
    assert len(closed) > len(tickets) // 2 and still_open
    assert any(ticket.closed_in_time for ticket in closed) and any(not ticket.closed_in_time for ticket in closed)
    assert len({ticket.stage for ticket in still_open}) >= 4  # the recent ones stand at various stages

    assert any(ticket.rework_count > 0 and ticket.closed_at for ticket in tickets)
    assert any(ticket.outcome == "unreachable" for ticket in closed)
    reopened = [ticket for ticket in tickets if ticket.reopened]
    assert reopened
    linked = {ticket.reopened_from_id for ticket in tickets if ticket.reopened_from_id is not None}
    assert {ticket.id for ticket in reopened} <= linked
    assert all(ticket.category == "complaint" and ticket.escalation_level >= 2
               for ticket in tickets if ticket.reopened_from_id is not None)
    assert any(ticket.satisfaction in ("very_satisfied", "satisfied") for ticket in closed)


def agrees_with_instances_tasks_and_audit_log(tickets: list[Ticket]) -> None:
    instances = {instance.id: instance for instance in db.session.scalars(select(ProcessInstance))}
    open_task_counts = dict(db.session.execute(
        select(HumanTask.instance_id, func.count()).where(HumanTask.state == "open").group_by(HumanTask.instance_id)
    ).all())

    assert len(instances) == len(tickets)  # one reception instance per ticket, nothing else
    assert {instance.status for instance in instances.values()} <= {"running", "waiting", "completed"}
    for ticket in tickets:
        instance = instances[ticket.instance_id]
        assert (instance.status == "completed") == (ticket.closed_at is not None), ticket.number
        assert (ticket.stage == "closed") == (ticket.closed_at is not None), ticket.number
        if ticket.closed_at is not None:
            assert instance.ended_at == ticket.closed_at and instance.id not in open_task_counts
            assert ticket.outcome is not None and ticket.closed_in_time is not None, ticket.number
        elif instance.status == "running":
            assert open_task_counts.get(instance.id), ticket.number  # somebody's inbox holds it
        else:
            assert instance.next_timer_at is not None, ticket.number  # waiting for the callback time
    assert all(instances[instance_id].status != "completed" for instance_id in open_task_counts)

    completed_tasks = db.session.scalar(select(func.count()).select_from(HumanTask)
                                        .where(HumanTask.state == "completed", HumanTask.completed_by_id.is_not(None)))
    completions = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "complete",
                                                                                       AuditEvent.actor_id.is_not(None)))
    assert completed_tasks == completions > 5 * len(tickets)
    actions = set(db.session.scalars(select(AuditEvent.action).distinct()))
    assert {"start", "complete", "claim", "timer"} <= actions
    assert db.session.scalar(select(func.count()).select_from(HumanTask)
                             .where(HumanTask.state == "open", HumanTask.claimed_by_id.is_not(None))) > 0


def test_flask_demo_without_a_deployed_reception_says_how_to_get_tickets(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    assert "no demo tickets" in result.output and "flask deploy" in result.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
