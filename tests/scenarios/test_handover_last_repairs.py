"""The last two repairs of a unit's defects confirmed at the same moment: the owner's re-inspection still appears.

Each confirmation counts the unit's unrepaired defects in its own transaction: were each to see the other's repair
as not done, the handover would wait for ever. The unit's row is locked before counting (services/handover/
repairs.py), so the later one counts after the earlier committed. These requests commit for real from two threads.
"""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from app.extensions import db
from tests.scenarios.conftest import CONFIRMED, Desk
from tests.scenarios.test_handover import (
    HOLLOW,
    LEAK,
    batch,
    record,
    reinspection_of,
    reinspections,
    repaired_but_not_confirmed,
    work_orders,
)

pytestmark = pytest.mark.concurrency
__all__ = ["batch"]  # the fixture, used by name


def confirm_at_once(app: Flask, desk: Desk, task_ids: list[str]) -> dict[str, int]:
    """The supervisor's two confirmations sent together (behind a barrier); their status codes by task."""
    barrier = threading.Barrier(len(task_ids))
    statuses: dict[str, int] = {}
    errors: list[BaseException] = []
    headers = desk.staff.eng_super.user.headers

    def confirm(task_id: str) -> None:
        try:
            with app.app_context():
                client = app.test_client()
                barrier.wait()
                statuses[task_id] = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": CONFIRMED},
                                                headers=headers).status_code
                db.session.remove()
        except BaseException as exc:  # surfaced below: a thread's crash must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return statuses


def test_the_last_two_repairs_confirmed_at_once_let_the_owner_re_inspect(app: Flask, desk: Desk, batch: None) -> None:
    record(desk, "3栋-0101", LEAK, HOLLOW)
    confirmations = [repaired_but_not_confirmed(desk, number)["id"] for number in work_orders(desk, "3栋-0101")]
    assert reinspections(desk) == []

    statuses = confirm_at_once(app, desk, confirmations)

    for task_id, status in statuses.items():
        assert status in (200, 409), statuses  # 409: SQLite's one writer at a time; the supervisor tries again
        if status == 409:
            assert desk.staff.eng_super.complete(task_id, CONFIRMED).status_code == 200
    assert reinspection_of(desk, "3栋-0101")["name"] == "owner_reinspect"
