"""The owner's answers from the phone, as messages the repair and callback diagrams wait for.

Beside the technician's own step, a message boundary event takes the owner's answer: confirming or moving
the visit (``inspect_on_site``), agreeing to or refusing the quote (``owner_consents``), signing the
acceptance (``owner_acceptance``) and rating the service before the call (``call_owner``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from app.clock import ManualClock
from app.engine import CompiledBundle, Engine, MessageNotAwaitedError, StepResult
from tests.flows.conftest import Flows, ready_names, shipped_texts
from tests.flows.test_repair_flow import (
    accepted,
    appointed,
    confirmed,
    dispatched,
    inspected,
    repair_only,
    repaired,
    reported,
    reviewed,
    until_repair,
    years_ago,
)
from tests.support.compiling import Compiler

SIGNED = "upload:owner-signature.png"


@pytest.fixture(scope="module")
def shipped_bundle(compiled: Compiler) -> tuple[CompiledBundle, Mapping[str, dict[str, Any]]]:
    return repair_only(compiled, shipped_texts("repair.bpmn", "callback.bpmn"))


@pytest.fixture
def flows(shipped_bundle: tuple[CompiledBundle, Mapping[str, dict[str, Any]]], clock: ManualClock) -> Flows:
    bundle, forms = shipped_bundle
    specs: dict[str, str] = {}
    engine = Engine(specs.__getitem__, clock)
    specs["repair"] = engine.register_bundle("repair", bundle)
    return Flows(engine, clock, copy.deepcopy(forms))


def told(flows: Flows, result: StepResult, message: str, **payload: Any) -> StepResult:
    return flows.engine.deliver_message(result.state, message, payload)


def quoted(flows: Flows) -> StepResult:
    return inspected(flows, appointed(flows, dispatched(flows, reported(flows, handover_date=years_ago(6)))))


def test_the_inspection_waits_for_the_owner_to_confirm_or_move_the_visit(flows):
    visit = appointed(flows, dispatched(flows, reported(flows)))

    assert ready_names(visit) == ["inspect_on_site"]
    assert {"owner_confirms_appointment", "owner_moves_appointment"} <= visit.awaited_messages


def test_an_owner_confirming_the_visit_leaves_the_inspection_with_the_technician(flows):
    visit = appointed(flows, dispatched(flows, reported(flows)))

    confirmed_visit = told(flows, visit, "owner_confirms_appointment", answered_at="2026-03-02T10:00:00+08:00")

    assert ready_names(confirmed_visit) == ["inspect_on_site"]
    assert flows.task(confirmed_visit, "inspect_on_site").task_id == flows.task(visit, "inspect_on_site").task_id
    assert confirmed_visit.data["appointment_confirmed_at"] == "2026-03-02T10:00:00+08:00"


def test_an_owner_moving_the_visit_brings_the_appointment_back_to_the_technician(flows):
    visit = appointed(flows, dispatched(flows, reported(flows)))

    moved = told(flows, visit, "owner_moves_appointment", wish="2026-03-04T14:00:00+08:00", reason="周二出差。")

    assert ready_names(moved) == ["agree_appointment"]
    assert flows.task_data(moved, "agree_appointment")["owner_move_request"]["reason"] == "周二出差。"
    again = appointed(flows, moved, at="2026-03-04T14:00:00+08:00")
    assert ready_names(again) == ["inspect_on_site"]


def test_a_quote_refused_on_the_phone_goes_back_to_the_consent_step_and_a_later_yes_gets_the_repair(flows):
    quote = quoted(flows)
    assert "owner_answers_quote" in quote.awaited_messages

    refused = told(flows, quote, "owner_answers_quote", agrees=False, reason="太贵了。", payment_method=None)

    assert ready_names(refused) == ["owner_consents"]
    assert flows.task_data(refused, "owner_consents")["refusal_reason"] == "太贵了。"
    agreed = told(flows, refused, "owner_answers_quote", agrees=True, reason=None, payment_method="mobile")
    assert ready_names(agreed) == ["carry_out_repair"]
    work = flows.task_data(agreed, "carry_out_repair")
    assert (work["owner_agrees"], work["payment_method"], work["quote_answered_by"]) == (True, "mobile", "owner_remote")


def test_an_acceptance_signed_on_the_owners_phone_is_recorded_as_owner_remote(flows):
    acceptance = repaired(flows, until_repair(flows, reported(flows)))

    signed = told(flows, acceptance, "owner_signs_acceptance", signature=SIGNED)

    assert ready_names(signed) == ["confirm_repair"]
    data = flows.task_data(signed, "confirm_repair")
    assert (data["signed_by"], data["owner_signature"], data["owner_accepts"]) == ("owner_remote", SIGNED, True)


def test_an_acceptance_signed_on_the_technicians_phone_is_recorded_as_technician_device(flows):
    signed = accepted(flows, repaired(flows, until_repair(flows, reported(flows))))

    assert flows.task_data(signed, "confirm_repair")["signed_by"] == "technician_device"


def at_the_callback(flows: Flows) -> StepResult:
    return confirmed(flows, accepted(flows, repaired(flows, until_repair(flows, reported(flows)))))


def test_a_satisfied_rating_before_the_call_ends_the_callback_without_the_call(flows):
    callback = at_the_callback(flows)
    assert ready_names(callback) == ["call_owner"] and "owner_rates" in callback.awaited_messages

    rated = told(flows, callback, "owner_rates", satisfaction="satisfied", comment="师傅很细心。")

    assert ready_names(rated) == ["manager_review"]
    closed = reviewed(flows, rated)
    assert (closed.status, closed.data["satisfaction"], closed.data["remarks"]) == ("completed", "satisfied",
                                                                                   "师傅很细心。")
    assert closed.data["reopen_as_complaint"] is False


@pytest.mark.parametrize("rating", ["dissatisfied", "very_dissatisfied"])
def test_a_dissatisfied_rating_still_brings_the_call_and_a_dissatisfied_call_reopens(flows, rating):
    rated = told(flows, at_the_callback(flows), "owner_rates", satisfaction=rating, comment="还在漏。")

    assert ready_names(rated) == ["call_owner"]
    assert "owner_rates" in rated.awaited_messages  # still open to a second thought until the call
    called = flows.complete(rated, "call_owner", {"reached": True, "satisfaction": rating})
    assert called.data["reopen_as_complaint"] is True


def test_a_message_the_flow_no_longer_waits_for_is_refused(flows):
    repair = until_repair(flows, reported(flows))

    with pytest.raises(MessageNotAwaitedError):
        told(flows, repair, "owner_confirms_appointment", answered_at="2026-03-02T10:00:00+08:00")


def test_after_a_visit_the_owner_confirmed_forty_refused_acceptances_keep_the_state_small(flows):
    """The confirmation's branch ends and waits at the work order's end, low in the task tree; the rework rounds
    below it are still dropped from the state as they finish (app/engine/history.py)."""
    visit = appointed(flows, dispatched(flows, reported(flows)))
    result = inspected(flows, told(flows, visit, "owner_confirms_appointment",
                                   answered_at="2026-03-02T10:00:00+08:00"))
    sizes = []
    for _ in range(40):
        result = flows.complete(repaired(flows, result), "owner_acceptance",
                                {"owner_accepts": False, "refusal_reason": "还在渗水。"})
        sizes.append(len(result.state))

    assert max(sizes[10:]) < 1.1 * sizes[9]  # round 40 is stored in the space of round 10
    closed = confirmed(flows, accepted(flows, repaired(flows, result)))
    assert (closed.data["rework_count"], closed.data["appointment_confirmed_at"]) == (40, "2026-03-02T10:00:00+08:00")
    assert ready_names(closed) == ["call_owner"]  # on to the callback, as after one refusal
