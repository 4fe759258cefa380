"""Handover (收楼遗留问题), the shipped diagram on the engine: the agent records each defect the owner raises at the
inspection, the flow then waits until every defect's repair is done (message ``handover_repairs_done``, sent by
services/handover/repairs.py) before the owner's re-inspection appears; an owner who raises nothing signs at once,
and an owner who does not accept starts a second round."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import MessageNotAwaitedError, StepResult
from app.services.handover.repairs import REPAIRS_DONE
from app.services.work.forms import render_instructions
from tests.flows.conftest import Flows, ready_names

UNIT = {"project": "lanting", "unit": "3栋-0101", "owner_name": "周先生", "owner_phone": "13800000101",
        "handed_over_on": "2026-02-27"}
LEAK = {"has_defect": True, "location": "主卫", "part": "kitchen_bathroom_waterproof", "defect_type": "leak",
        "description": "主卫地漏周边漏水到楼下。"}
HOLLOW = {"has_defect": True, "location": "客厅", "part": "decoration", "defect_type": "hollow",
          "description": "客厅地砖空鼓三块。"}
NO_DEFECT = {"has_defect": False, "more_defects": False}
SIGNED = {"owner_accepts": True, "owner_signature": "files/signature-0001.png"}


@pytest.fixture
def flows(make_flows: Any) -> Flows:
    return make_flows("handover.bpmn")


def recorded(flows: Flows, *defects: dict[str, Any]) -> StepResult:
    """A unit's inspection with ``defects`` recorded one by one, the last one saying there is no more."""
    result = flows.start("handover", UNIT)
    for index, defect in enumerate(defects):
        result = flows.complete(result, "record_defect", {**defect, "more_defects": index < len(defects) - 1})
    return result


def repairs_done(flows: Flows, result: StepResult, defects: int) -> StepResult:
    return flows.engine.deliver_message(result.state, REPAIRS_DONE, {"defects": defects})


def test_after_the_defects_are_recorded_nothing_is_to_do_until_every_repair_is_done(flows: Flows) -> None:
    waiting = recorded(flows, LEAK, HOLLOW)

    assert (waiting.status, ready_names(waiting)) == ("waiting", [])
    assert waiting.awaited_messages == frozenset({REPAIRS_DONE})
    assert (waiting.data["defects_recorded"], waiting.data["hot_defects"]) == (2, 1)

    repaired = repairs_done(flows, waiting, 2)

    assert ready_names(repaired) == ["owner_reinspect"]
    shown = render_instructions(flows.task(repaired, "owner_reinspect").instructions,
                                flows.task_data(repaired, "owner_reinspect"))
    assert "登记的 2 个遗留问题已全部维修完成" in shown
    assert flows.complete(repaired, "owner_reinspect", SIGNED).status == "completed"


def test_an_owner_who_raises_no_defect_signs_at_once(flows: Flows) -> None:
    nothing = recorded(flows, NO_DEFECT)

    assert (ready_names(nothing), nothing.awaited_messages) == (["owner_reinspect"], frozenset())
    shown = render_instructions(flows.task(nothing, "owner_reinspect").instructions,
                                flows.task_data(nothing, "owner_reinspect"))
    assert "业主收楼时没有提出问题" in shown
    assert flows.complete(nothing, "owner_reinspect", SIGNED).status == "completed"


def test_the_message_is_not_awaited_while_defects_are_being_recorded(flows: Flows) -> None:
    recording = flows.complete(flows.start("handover", UNIT), "record_defect", {**LEAK, "more_defects": True})

    assert ready_names(recording) == ["record_defect"]
    with pytest.raises(MessageNotAwaitedError):
        repairs_done(flows, recording, 1)


def test_an_owner_who_does_not_accept_starts_a_second_round_that_waits_for_its_repairs_again(flows: Flows) -> None:
    repaired = repairs_done(flows, recorded(flows, LEAK), 1)
    refused = flows.complete(repaired, "owner_reinspect", {"owner_accepts": False, "refusal_reason": "还在渗水。"})
    assert (ready_names(refused), refused.data["defect_round"]) == (["record_defect"], 2)

    again = flows.complete(refused, "record_defect", {**LEAK, "more_defects": False})

    assert (ready_names(again), again.awaited_messages) == ([], frozenset({REPAIRS_DONE}))
    assert ready_names(repairs_done(flows, again, 2)) == ["owner_reinspect"]
