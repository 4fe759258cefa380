"""Execution limits for what a designer writes: a CPU budget per step and size limits on values and data.

Everything a designer writes (scripts, gateway conditions, DMN cells, timer and narrowing expressions,
instruction templates) runs in this process, so the limits are enforced here, in three ways:

* **Before computing**: the operators that can build a huge value in one C call (``**``, ``*``,
  ``<<``, ``+``, ``%``, ``range``, ``pow``, the padding and replacing string methods, format widths)
  go through guards that work out the size of the result first and refuse it past the limit.
  No timer can interrupt a single C call such as ``10**10**10``; refusing it beforehand can.
* **While running**: every loop round, comprehension round, function and lambda call of a script
  starts with a call that compares the thread's CPU time (``time.thread_time``, so it works in any
  thread of a web worker and in ``flask worker``, and a busy machine does not count against a
  step) with the step's budget and raises ``StepLimitError`` past it; so does every script,
  condition or cell the step evaluates and every task the engine runs. Scripts cannot swallow the
  error: every ``except`` and ``finally`` block starts with a check that raises it again
  (``guards.py``). Jinja compiles templates itself, so a template runs under a trace function
  (``sys.settrace``, for the render only, per thread) that checks the CPU time on every line and
  instruction of the template's code.
* **Before writing**: the step's task data is measured (shared objects counted wherever JSON would
  write them, stopping as soon as the limit is passed) before the state is serialized, and the
  serialized state is measured before it is returned.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from app.engine.settings import SettingsSource, declared, default_setting

CPU_SETTING = "step_cpu_seconds"
DATA_SETTING = "instance_data_max_kb"
MAX_INT_BITS = 100_000  # ~30,000 decimal digits: multiplying two such numbers takes ~1 ms


class StepLimitError(Exception):
    """Designer code went past a limit. ``limit`` names the setting (or ``value size``)."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.element_id: str | None = None  # set when the engine, not a script, noticed it


@dataclass(frozen=True)
class StepLimits:
    cpu_seconds: float
    max_bytes: int

    @classmethod
    def read(cls, settings: SettingsSource | None) -> StepLimits:
        """The limits the admin set (``step_cpu_seconds``, ``instance_data_max_kb``), or the defaults."""
        source = settings or default_setting
        return cls(float(source(CPU_SETTING)), int(source(DATA_SETTING)) * 1024)


DEFAULT_LIMITS = StepLimits.read(None)
# The least an admin may set (the settings' minimums). A step that stays below these never reads the
# settings, so an ordinary step costs no settings query; one that gets past them reads the admin's
# limits once and is held to those. Engine settings below these minimums count as these minimums.
FLOOR = StepLimits(float(declared(CPU_SETTING).minimum or 0), int(declared(DATA_SETTING).minimum or 0) * 1024)


class Budget:
    """One step's CPU budget (the thread's CPU time) and size limit; remembers a limit once it was passed."""

    __slots__ = ("_cpu_seen", "_limits", "_read", "_wall_seen", "deadline", "exceeded", "started")

    def __init__(self, read: Callable[[], StepLimits]) -> None:
        self._read = read
        self._limits: StepLimits | None = None
        self.started = time.thread_time()
        self.deadline = self.started + FLOOR.cpu_seconds
        self.exceeded: StepLimitError | None = None
        self._cpu_seen, self._wall_seen = self.started, time.perf_counter()

    @property
    def limits(self) -> StepLimits:
        """The admin's limits, read the first time a step gets past the floor."""
        if self._limits is None:
            read = self._read()
            self._limits = StepLimits(max(read.cpu_seconds, FLOOR.cpu_seconds), max(read.max_bytes, FLOOR.max_bytes))
        return self._limits

    def fail(self, error: StepLimitError) -> StepLimitError:
        if self.exceeded is None:
            self.exceeded = error
        return self.exceeded

    def check_cpu(self) -> None:
        """Raise StepLimitError once the step used its CPU time, or if any limit was passed before.

        A thread cannot use more CPU time than the wall time that passes, so while the wall clock
        (``perf_counter``, read without a system call) has moved on less than the CPU time left at the
        last reading of the thread's CPU clock (a system call, ~1 us), the step is surely within its
        budget and the CPU clock is not read: the check is as exact as reading it every time, and costs
        a system call only about once per (budget left) of wall time, or when the machine is busy.
        """
        if self.exceeded is not None:
            raise self.exceeded
        if time.perf_counter() - self._wall_seen <= self.deadline - self._cpu_seen:
            return
        now = time.thread_time()
        self._cpu_seen, self._wall_seen = now, time.perf_counter()
        if now <= self.deadline:
            return
        if self._limits is None:  # past the floor: is it past the admin's limit?
            self.deadline = self.started + self.limits.cpu_seconds
            if time.thread_time() <= self.deadline:
                return
        seconds = f"{self.limits.cpu_seconds:g}"
        raise self.fail(StepLimitError(
            f"step limit exceeded: the step used more than {seconds} s of CPU (setting {CPU_SETTING})", CPU_SETTING))

    def byte_limit_passed(self, size: int) -> int | None:
        """The data limit if ``size`` passes it, else None (reads no setting for sizes under the floor)."""
        if size <= FLOOR.max_bytes or size <= self.limits.max_bytes:
            return None
        return self.limits.max_bytes

    def refuse_size(self, what: str, size: int, limit: int, unit: str) -> StepLimitError:
        """A value refused before it was built: past ``limit`` (the data limit, or MAX_INT_BITS for numbers)."""
        setting = f"setting {DATA_SETTING}" if unit != "bits" else "fixed"
        return self.fail(StepLimitError(
            f"value size limit exceeded: {what} of {size:,} {unit}, more than {limit:,} ({setting})", DATA_SETTING))


_budget: ContextVar[Budget | None] = ContextVar("kefu_step_budget", default=None)
# The running budget again, per thread, for the garbage collector's callback, which must never read ``_budget``:
# CPython's ContextVar.reset() to "no value" empties the variable's lookup cache, then allocates; a collection
# that starts in that allocation and reads the variable caches a *borrowed* pointer to the value being removed,
# which is freed right after, and every later read returns freed memory (seen: a Budget that had become a weakref
# or a SQLAlchemy object; segfaults in the suite; Python/context.c ``contextvar_del``, 3.11 to 3.14). For the same
# reason ``step_budget`` ends with ``set(None)``, which replaces the cached pointer, never with ``reset()``.
_collecting = threading.local()


def _forgive_garbage_collection(phase: str, _info: dict[str, Any]) -> None:
    """Python's garbage collector runs in whichever thread allocates when it is due, and a full collection
    of a large process can take longer than a step: that time is not the designer's, so the running step's
    deadline moves by it (seen as a spurious limit on a loaded test machine)."""
    budget: Budget | None = getattr(_collecting, "budget", None)
    if budget is None:
        return
    if phase == "start":
        _collecting.started = time.thread_time()
    elif phase == "stop" and getattr(_collecting, "started", None) is not None:
        spent = time.thread_time() - _collecting.started
        budget.deadline += spent
        budget.started += spent
        _collecting.started = None


gc.callbacks.append(_forgive_garbage_collection)


def current_budget() -> Budget:
    """The running step's budget; outside a step, a fresh one with the default limits."""
    return _budget.get() or Budget(lambda: DEFAULT_LIMITS)


@contextmanager
def step_budget(read: Callable[[], StepLimits]) -> Iterator[Budget]:
    """Designer code run inside shares one budget (a nested step keeps the outer one). ``read`` gives
    the limits, called only if the step gets past the floor."""
    outer = _budget.get()
    if outer is not None:
        yield outer
        return
    budget = Budget(read)
    _budget.set(budget)
    _collecting.budget = budget
    try:
        yield budget
    finally:
        _collecting.budget = None
        _budget.set(None)


def run_limited(run: Callable[[], Any], limits: Callable[[], StepLimits] | None = None, *,
                traced: bool = False) -> Any:
    """``run()`` under the current step's budget; outside a step, under a budget of its own with
    ``limits()`` (default: the declared defaults). ``traced``: check the CPU time with a trace function
    (for code compiled without ``_tick_`` calls: Jinja templates).

    Raise StepLimitError when a limit is passed, now or earlier in the step.
    """
    budget = _budget.get()
    if budget is not None and not traced:  # the usual case, a cell or condition inside a step: no context to set
        budget.check_cpu()
        result = run()
        if budget.exceeded is not None:  # passed, then caught somewhere that is not a script
            raise budget.exceeded
        return result
    with step_budget(limits or (lambda: DEFAULT_LIMITS)) as budget:
        budget.check_cpu()
        previous = sys.gettrace()
        if traced:
            sys.settrace(_tracer(budget))
        try:
            result = run()
        finally:
            if traced:
                sys.settrace(previous)
        if budget.exceeded is not None:  # passed, then caught somewhere that is not a script
            raise budget.exceeded
        return result


DESIGNER_CODE = frozenset({"<template>"})  # the file name Jinja templates compile to


def _tracer(budget: Budget) -> Callable[..., Any]:
    """Check the CPU time on every event: per line, and in designer code per instruction too, since
    ``while True: pass`` is a single jump to itself that never starts a new line (the library code a template
    calls is checked too: a chain of filters can run long inside it). ``check_cpu`` reads the thread's CPU clock
    only when the wall clock says the budget might be spent.

    Not while the garbage collector runs: it calls weakref callbacks and finalizers in whichever frame allocates,
    before its time is forgiven (``_forgive_garbage_collection`` moves the deadline at its end), and a StepLimitError
    raised in one could not reach the render (Python reports it as unraisable and goes on)."""
    check = budget.check_cpu

    def trace(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_filename in DESIGNER_CODE:
            frame.f_trace_opcodes = True
        if getattr(_collecting, "started", None) is None:
            check()
        return trace

    return trace


# --- the size of data ------------------------------------------------------------------------------------------

class _TooBigError(Exception):
    pass


_SCALARS = (bool, float, type(None))  # written as at least 4 characters (``true``, ``null``, ``1.5e3`` ...)


def json_size(value: Any, limit: int, memo: dict[int, int]) -> int:
    """A lower bound of ``value``'s JSON length; raise _TooBigError past ``limit``.

    ``memo`` holds the size of each container already measured, so data that refers to the same
    list many times (``x = [x, x]`` in a loop) is measured in linear time, as large as JSON writes it.
    Strings, numbers, booleans, None and empty lists and dicts inside a container are measured in place,
    without a call each: task data is mostly flat dicts of those, and every step
    measures the data of every task it ran.
    """
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is int:
        return int(value.bit_length()) * 3 // 10 + 1
    if kind in _SCALARS:
        return 4
    key = id(value)
    known = memo.get(key)
    if known is not None:
        return known
    memo[key] = 0  # a cycle cannot be written anyway (the serializer refuses it)
    size = 2
    if isinstance(value, dict):
        for item_key, item in value.items():
            kind = type(item)
            if kind is str:
                size += len(item) + 2
            elif kind is int:
                size += item.bit_length() * 3 // 10 + 1
            elif kind in _SCALARS:
                size += 4
            elif (kind is list or kind is dict) and not item:
                size += 2
            else:
                size += json_size(item, limit, memo)
            size += len(item_key) + 4 if type(item_key) is str else json_size(item_key, limit, memo) + 2
            if size > limit:
                raise _TooBigError
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            kind = type(item)
            if kind is str:
                size += len(item) + 3
            elif kind is int:
                size += item.bit_length() * 3 // 10 + 2
            elif kind in _SCALARS:
                size += 5
            elif (kind is list or kind is dict) and not item:
                size += 3
            else:
                size += json_size(item, limit, memo) + 1
            if size > limit:
                raise _TooBigError
    memo[key] = size
    return size


def oversized_data(datas: Iterable[tuple[str | None, Any]], limit: int) -> str | None:
    """The first element whose data alone passes ``limit`` as JSON ("" for a workflow's own data);
    None when every one fits. Stops measuring as soon as one passes."""
    memo: dict[int, int] = {}
    for element_id, data in datas:
        try:
            json_size(data, limit, memo)
        except (_TooBigError, RecursionError):
            return element_id or ""
    return None


def data_too_big(element_id: str | None, what: str, limit: int) -> StepLimitError:
    where = f" at {element_id}" if element_id else ""
    error = StepLimitError(f"instance data limit exceeded{where}: {what} is larger than {limit // 1024:,} KB "
                           f"(setting {DATA_SETTING})", DATA_SETTING)
    error.element_id = element_id
    return error
