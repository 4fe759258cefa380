"""Timers read the engine's clock, so a test moves time instead of sleeping.

SpiffWorkflow's timer events call ``datetime.now(timezone.utc)`` directly. We swap the
``datetime`` name inside that one module for a subclass whose ``now`` asks the clock of
the engine operation under way (a context variable, so threads do not share it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.clock import Clock

_current_clock: ContextVar[Clock | None] = ContextVar("engine_clock", default=None)


class TimerValueError(ValueError):
    """A timer expression produced something that is not ISO 8601."""


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]  # same signature, other source
        clock = _current_clock.get()
        moment = clock.now() if clock is not None else datetime.now(UTC)
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


spiff_timer.datetime = _ClockedDatetime  # see the module docstring


@contextlib.contextmanager
def engine_clock(clock: Clock) -> Iterator[None]:
    token = _current_clock.set(clock)
    try:
        yield
    finally:
        _current_clock.reset(token)


def parse_timer_value(kind: str, value: object) -> object:
    """Check a timer expression's value the way the engine will read it; raise TimerValueError."""
    if not isinstance(value, str):
        raise TimerValueError(f"expected an ISO 8601 string, got {type(value).__name__}")
    try:
        if kind == "timeDuration":
            return TimerEventDefinition.parse_iso_duration(value)
        if kind == "timeDate":
            return TimerEventDefinition.get_datetime(value)
        return TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception as exc:  # the library raises assorted errors for bad strings
        raise TimerValueError(f"'{value}' is not ISO 8601: {exc}") from exc
