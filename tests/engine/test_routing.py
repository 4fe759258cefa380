"""Where work goes: lanes, exclusive gateways, call activities across files, DMN routing."""

from __future__ import annotations

import pytest

from tests.engine.conftest import ready_names, ready_task


def test_first_task_view_carries_its_lane_form_key_and_instructions(deploy):
    engine = deploy("lanes.bpmn")

    started = engine.start("lanes_demo", {})

    record = ready_task(started, "record")
    assert started.status == "running"
    assert (record.title, record.lane, record.form_key) == ("登记 / Record", "cs_agent", "lanes_record.json")
    assert record.process_id == "lanes_demo"
    assert "Record a **summary** of the call." in record.instructions


def test_second_task_appears_in_the_dept_owner_lane_after_the_first_completes(deploy, complete_ready):
    engine = deploy("lanes.bpmn")

    handled = complete_ready(engine.start("lanes_demo", {}), "record", {"summary": "楼道漏水"})

    assert ready_names(handled) == ["handle"]
    handle = ready_task(handled, "handle")
    assert (handle.lane, handle.form_key) == ("dept_owner", "lanes_handle.json")
    assert handled.data["summary"] == "楼道漏水"


def test_completing_the_last_task_completes_the_instance(deploy, complete_ready):
    engine = deploy("lanes.bpmn")
    recorded = complete_ready(engine.start("lanes_demo", {}), "record", {"summary": "s"})

    finished = complete_ready(recorded, "handle", {"result": "done"})

    assert finished.status == "completed"
    assert finished.ready_tasks == ()


def test_valid_complaint_goes_to_fix_in_the_dept_owner_lane(deploy, complete_ready):
    engine = deploy("gateway.bpmn")

    judged = complete_ready(engine.start("gateway_demo", {}), "judge", {"valid": True})

    assert ready_names(judged) == ["fix"]
    assert ready_task(judged, "fix").lane == "dept_owner"


def test_invalid_complaint_goes_to_explain_in_the_cs_agent_lane(deploy, complete_ready):
    engine = deploy("gateway.bpmn")

    judged = complete_ready(engine.start("gateway_demo", {}), "judge", {"valid": False})

    assert ready_names(judged) == ["explain"]
    assert ready_task(judged, "explain").lane == "cs_agent"


def test_called_repair_task_is_in_the_technician_lane_assigned_from_data(deploy, complete_ready):
    engine = deploy("caller.bpmn", "callee.bpmn")

    picked = complete_ready(engine.start("caller", {}), "pick", {"technician": "zheng"})

    repair = ready_task(picked, "repair")
    assert (repair.lane, repair.assignee, repair.form_key) == ("technician", "zheng", "callee_repair.json")
    assert repair.process_id == "callee"


def test_completing_the_called_task_completes_the_caller(deploy, complete_ready):
    engine = deploy("caller.bpmn", "callee.bpmn")
    picked = complete_ready(engine.start("caller", {}), "pick", {"technician": "zheng"})

    repaired = complete_ready(picked, "repair", {"hours": 2})

    assert repaired.status == "completed"
    assert repaired.data == {"technician": "zheng", "hours": 2}


@pytest.mark.parametrize(("category", "department"), [
    ("repair", "engineering"),
    ("complaint", "property"),
    ("consultation", "service"),
])
def test_dmn_routes_each_category_to_its_department(deploy, complete_ready, category, department):
    engine = deploy("dmn_route.bpmn", "route.dmn")

    routed = complete_ready(engine.start("dmn_route", {}), "intake", {"category": category})

    handle = ready_task(routed, "dept_handle")
    assert (handle.lane, handle.department) == ("dept_owner", department)
