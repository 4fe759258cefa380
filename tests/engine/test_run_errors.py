"""Scripts and run-time failures: results that work, errors that name their element, a sandbox that holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import EngineRunError
from tests.engine.conftest import ready_names, ready_task, rewritten


def script_ok_with(script: str) -> dict[str, bytes]:
    """script_ok.bpmn with the body of its script task ``double`` replaced."""
    return rewritten("script_ok.bpmn", "doubled = n * 2", script)


def test_script_result_is_visible_in_the_next_task(deploy, complete_ready):
    engine = deploy("script_ok.bpmn")

    entered = complete_ready(engine.start("script_ok", {}), "enter", {"n": 21})

    review = ready_task(entered, "review")
    data, _ = engine.task_details(entered.state, review.task_id)
    assert review.lane == "cs_supervisor"
    assert data["doubled"] == 42
    assert entered.data["doubled"] == 42


def test_script_helpers_read_the_engine_clock(deploy, complete_ready, clock):
    engine = deploy("script_ok.bpmn", replace=script_ok_with("doubled = add_hours(now(), n)"))

    entered = complete_ready(engine.start("script_ok", {}), "enter", {"n": 2})

    assert entered.data["doubled"] == "2026-03-02T03:00:00+00:00"


def test_a_script_reading_a_missing_attribute_fails_instead_of_reading_none(deploy, complete_ready):
    engine = deploy("script_ok.bpmn", replace=script_ok_with("doubled = n.no_such_attribute"))
    started = engine.start("script_ok", {})

    with pytest.raises(EngineRunError):
        complete_ready(started, "enter", {"n": 21})


def test_bad_deadline_value_fails_cleanly_and_keeps_the_old_state(deploy, complete_ready):
    engine = deploy("timer_date.bpmn")
    started = engine.start("timer_date_demo", {})

    with pytest.raises(EngineRunError) as failure:
        complete_ready(started, "set_limit", {"due": "garbage"})

    assert "garbage" in failure.value.details.message
    assert failure.value.details.element_id == "work_deadline"
    assert ready_names(engine.inspect(started.state)) == ["set_limit"]
    retried = complete_ready(started, "set_limit", {"due": "2026-03-03T10:00:00+00:00"})
    assert ready_names(retried) == ["work"]


def test_no_true_condition_is_an_error_naming_the_gateway(deploy, complete_ready):
    engine = deploy("no_condition.bpmn")
    started = engine.start("no_condition", {})

    with pytest.raises(EngineRunError) as failure:
        complete_ready(started, "choose", {"valid": True})

    assert failure.value.details.element_id == "gw_choose"
    assert "gw_choose" in str(failure.value)


@pytest.mark.parametrize(("diagram", "process_id", "blocked"), [
    ("script_escape.bpmn", "script_escape", "__self__"),
    ("script_escape2.bpmn", "script_escape2", "__class__"),
])
def test_script_escape_is_stopped_at_run_time_on_its_element(deploy, complete_ready, diagram, process_id, blocked):
    engine = deploy(diagram)
    started = engine.start(process_id, {})

    with pytest.raises(EngineRunError) as failure:
        complete_ready(started, "go")

    assert failure.value.details.element_id == "evil"
    assert blocked in failure.value.details.message
    assert ready_names(engine.inspect(started.state)) == ["go"]


@pytest.mark.parametrize(("escape_script", "blocked"), [
    ('m = getattr(len, "__se" + "lf__")\ngetattr(m, "__imp" + "ort__")("pathlib").Path(MARKER).touch()', "__self__"),
    ('open(MARKER, "w").write("escaped")', "open"),
    ("import pathlib\npathlib.Path(MARKER).touch()", "__import__"),
], ids=["builtins-via-self", "open", "import"])
def test_a_script_that_deploys_still_cannot_touch_the_file_system(deploy, complete_ready, tmp_path: Path,
                                                                  escape_script, blocked):
    marker = tmp_path / "escaped.txt"
    script = escape_script.replace("MARKER", repr(str(marker)))
    engine = deploy("script_ok.bpmn", replace=script_ok_with(script))
    started = engine.start("script_ok", {})

    with pytest.raises(EngineRunError) as failure:
        complete_ready(started, "enter", {"n": 1})

    assert failure.value.details.element_id == "double"
    assert blocked in failure.value.details.message
    assert not marker.exists()
