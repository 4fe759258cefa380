"""Deadlines: boundary timers from a duration or from data, fired by moving the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.engine import TaskNotReadyError
from tests.engine.conftest import START, ready_names, ready_task

# A user task beside an intermediate timer in a parallel branch: the timer does not guard the task.
PARALLEL_REMINDER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_reminder"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="parallel_reminder" isExecutable="true">
    <bpmn:laneSet id="LaneSet_reminder">
      <bpmn:lane id="lane_cs_agent" name="cs_agent"><bpmn:flowNodeRef>answer</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:parallelGateway id="split" />
    <bpmn:userTask id="answer">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="five_task.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:intermediateCatchEvent id="reminder">
      <bpmn:timerEventDefinition id="TimerDef_reminder"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end_answered" />
    <bpmn:endEvent id="end_reminded" />
    <bpmn:sequenceFlow id="flow_start_split" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="flow_split_answer" sourceRef="split" targetRef="answer" />
    <bpmn:sequenceFlow id="flow_split_reminder" sourceRef="split" targetRef="reminder" />
    <bpmn:sequenceFlow id="flow_answer_end" sourceRef="answer" targetRef="end_answered" />
    <bpmn:sequenceFlow id="flow_reminder_end" sourceRef="reminder" targetRef="end_reminded" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_reply_is_due_four_hours_after_it_became_ready(deploy):
    engine = deploy("timer.bpmn")

    started = engine.start("timer_demo", {})

    assert ready_task(started, "wait_reply").due_at == START + timedelta(hours=4)
    assert started.next_timer_at == START + timedelta(hours=4)


def test_firing_timers_before_the_deadline_changes_nothing(deploy, clock):
    engine = deploy("timer.bpmn")
    started = engine.start("timer_demo", {})
    clock.advance(timedelta(hours=3, minutes=59))

    fired = engine.fire_due_timers(started.state)

    assert fired.ready_tasks == started.ready_tasks
    assert fired.next_timer_at == started.next_timer_at
    assert fired.state == started.state


def test_missed_reply_deadline_escalates_to_the_supervisor(deploy, clock):
    engine = deploy("timer.bpmn")
    started = engine.start("timer_demo", {})
    clock.advance(timedelta(hours=4, minutes=1))

    fired = engine.fire_due_timers(started.state)

    assert ready_names(fired) == ["escalate"]
    assert ready_task(fired, "escalate").lane == "cs_supervisor"
    assert fired.next_timer_at is None


def test_reply_cancelled_by_its_deadline_can_no_longer_be_completed(deploy, clock):
    engine = deploy("timer.bpmn")
    started = engine.start("timer_demo", {})
    clock.advance(timedelta(hours=5))
    fired = engine.fire_due_timers(started.state)

    with pytest.raises(TaskNotReadyError):
        engine.complete(fired.state, ready_task(started, "wait_reply").task_id, {})


def test_deadline_from_data_is_due_where_the_data_says(deploy, complete_ready):
    engine = deploy("timer_date.bpmn")

    limited = complete_ready(engine.start("timer_date_demo", {}), "set_limit", {"due": "2026-03-03T18:00:00+08:00"})

    work = ready_task(limited, "work")
    assert work.lane == "dept_owner"
    assert work.due_at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    assert limited.next_timer_at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_work_past_its_deadline_from_data_goes_to_late(deploy, complete_ready, clock):
    engine = deploy("timer_date.bpmn")
    limited = complete_ready(engine.start("timer_date_demo", {}), "set_limit", {"due": "2026-03-03T18:00:00+08:00"})

    clock.set(datetime(2026, 3, 3, 9, 59, tzinfo=UTC))
    assert ready_names(engine.fire_due_timers(limited.state)) == ["work"]
    clock.set(datetime(2026, 3, 3, 10, 1, tzinfo=UTC))
    assert ready_names(engine.fire_due_timers(limited.state)) == ["late"]


def test_deadline_typed_without_an_offset_is_shown_as_the_aware_time_it_fires(deploy, complete_ready, clock):
    engine = deploy("timer_date.bpmn")
    limited = complete_ready(engine.start("timer_date_demo", {}), "set_limit", {"due": "2026-03-03T10:00:00"})

    due_at = ready_task(limited, "work").due_at

    assert due_at is not None and due_at.tzinfo is not None
    clock.set(due_at + timedelta(minutes=1))
    assert ready_names(engine.fire_due_timers(limited.state)) == ["late"]


def test_a_timer_in_a_parallel_branch_puts_no_deadline_on_the_other_branch(deploy):
    engine = deploy("parallel_reminder.bpmn", replace={"parallel_reminder.bpmn": PARALLEL_REMINDER})

    started = engine.start("parallel_reminder", {})

    assert started.next_timer_at == START + timedelta(hours=1)
    assert ready_task(started, "answer").due_at is None
