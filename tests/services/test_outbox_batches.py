"""The outbox goes in batches (one transaction each), yet a worker that dies while sending resends little.

``deliver_outbox`` takes the due texts a batch at a time and commits the batch's outcomes together; a batch is
cut after ``SEND_WINDOW_SECONDS`` of sending, so what went before is recorded even if the worker then dies.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.jobs import OutboxMessage
from app.services.jobs import notifications
from app.services.jobs.notifications import OutgoingMessage, deliver_outbox, send_sms
from app.services.steps.plan import step_transaction

TEXTS = 5


class WorkerKilled(BaseException):
    """The process ending mid-send (a kill, a power cut): not a sender failure, nothing is recorded by it."""


class DiesOnThird:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: OutgoingMessage) -> None:
        if len(self.sent) == 2:
            raise WorkerKilled
        self.sent.append(message.body)


class Carrier:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message.body)


def queue_texts(clock) -> None:
    with step_transaction():
        for number in range(TEXTS):
            send_sms("13812345678", f"【客服中心】{number}", now=clock.now())


def statuses() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def test_a_batch_of_texts_is_sent_in_order_and_marked_sent(app, clock):
    queue_texts(clock)
    carrier = Carrier()

    assert deliver_outbox(carrier, now=clock.now(), limit=3) == (3, 0)  # no more than asked
    assert deliver_outbox(carrier, now=clock.now()) == (2, 0)
    assert carrier.sent == [f"【客服中心】{number}" for number in range(TEXTS)]
    assert statuses() == ["sent"] * TEXTS


def test_a_worker_killed_while_sending_has_recorded_what_it_sent_before_its_last_window(app, clock, monkeypatch):
    queue_texts(clock)
    monkeypatch.setattr(notifications, "SEND_WINDOW_SECONDS", 0.0)  # a slow gateway: every send fills the window
    dying = DiesOnThird()
    with pytest.raises(WorkerKilled):
        deliver_outbox(dying, now=clock.now())
    db.session.rollback()  # what the dead worker's connection leaves: its open transaction undone

    assert statuses() == ["sent", "sent"] + ["pending"] * (TEXTS - 2)
    carrier = Carrier()  # the next worker sends only the rest
    assert deliver_outbox(carrier, now=clock.now()) == (TEXTS - 2, 0)
    assert carrier.sent == [f"【客服中心】{number}" for number in range(2, TEXTS)]
