"""What evaluating designer code costs beyond the code itself, pinned so it does not creep back: the CPU clock is
not read on every check (yet a step past its budget still fails), a DMN cell's text is parsed once, and measuring
a step's data makes no call per string or number."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.engine import limits, scripting
from app.engine.limits import StepLimitError, StepLimits, current_budget, json_size, oversized_data, step_budget


def counting_thread_time(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    reads: list[float] = []
    clock = time.thread_time

    def thread_time() -> float:
        reads.append(clock())
        return reads[-1]

    monkeypatch.setattr(limits.time, "thread_time", thread_time)
    return reads


def test_checking_the_budget_reads_the_cpu_clock_only_when_the_wall_clock_says_it_might_be_spent(monkeypatch):
    reads = counting_thread_time(monkeypatch)
    with step_budget(lambda: StepLimits(1.0, 64 * 1024)):
        budget = current_budget()
        reads.clear()
        for _ in range(1000):  # a DMN table's cells, a loop's rounds: each starts with a check
            budget.check_cpu()
    assert len(reads) < 10  # not one system call per check (a read only after a pause as long as the budget)


def test_a_step_past_its_budget_still_fails_at_the_next_check():
    with step_budget(lambda: StepLimits(0.1, 64 * 1024)):
        budget = current_budget()
        budget.deadline = budget.started - 1  # as if the budget (and the admin's, once read) were spent
        budget._limits = StepLimits(0.0, 64 * 1024)
        with pytest.raises(StepLimitError):
            budget.check_cpu()


def test_a_dmn_cell_is_parsed_once_however_often_it_is_validated(monkeypatch):
    parsed: list[str] = []
    parse = scripting.ast.parse

    def counting_parse(text: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(text)
        return parse(text, *args, **kwargs)

    monkeypatch.setattr(scripting.ast, "parse", counting_parse)
    engine = scripting.make_script_engine(clock=None)  # type: ignore[arg-type]  # validate reads no clock
    for _ in range(5):
        engine.validate("category_of_test_a_dmn_cell == 'repair'")
        with pytest.raises(SyntaxError):
            engine.validate(">= 3 # test_a_dmn_cell")  # the DMN engine then tries "v >= 3"
    assert len(parsed) == 2


def test_data_is_measured_without_a_call_per_string_or_number(monkeypatch):
    calls = 0
    measure = limits.json_size

    def counting(*args: Any) -> int:
        nonlocal calls
        calls += 1
        return measure(*args)

    monkeypatch.setattr(limits, "json_size", counting)
    data = {"name": "王先生", "count": 3, "urgent": True, "note": None, "ratio": 1.5, "empty": [], "none": {},
            "limits": {"judge": [24, "working_hours"], "visit": [48, "hours"]}}
    assert oversized_data([("intake", data)], 64 * 1024) is None
    assert calls == 4  # the data, "limits" and its two lists
    assert measure(data, 10**6, {}) == 149  # what measuring with one call per value gave


def test_data_that_holds_the_same_list_many_times_is_still_refused_at_once():
    shared: list[Any] = []
    for _ in range(200):
        shared = [shared, shared]  # 2**200 lists as JSON
    assert oversized_data([("build", {"x": shared})], 64 * 1024) == "build"
    with pytest.raises(limits._TooBigError):
        json_size({"x": shared}, 64 * 1024, {})
