"""Fixtures and constants every test directory shares (a pytest plugin: ``pytest_plugins`` in tests/conftest.py).

Fixtures here are factories (``make_clock(at=...)``) with the everyday default as a plain fixture
(``clock``); the engine, flow and app conftests build on them instead of keeping copies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from app.clock import ManualClock
from app.engine import StepResult

if TYPE_CHECKING:
    from tests.support.compiling import Compiler

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
ROLE_NAMES = ("cs_agent", "night_security", "cs_supervisor", "dept_owner", "dept_head", "eng_supervisor",
              "technician", "property_manager", "designer", "admin")
ROLES = {name: name for name in ROLE_NAMES}  # lane role -> the group a deploy maps it to


def ready_names(result: StepResult) -> list[str]:
    return sorted(task.name for task in result.ready_tasks)


@pytest.fixture
def make_clock() -> Callable[..., ManualClock]:
    """``make_clock(at=START)``: a manual clock the test moves instead of sleeping."""

    def make(at: datetime = START) -> ManualClock:
        return ManualClock(at)

    return make


@pytest.fixture
def clock(make_clock: Callable[..., ManualClock]) -> ManualClock:
    return make_clock()


@pytest.fixture(scope="session")
def compiled() -> Compiler:
    """``compiled(texts)``: read, planned and compiled once per content for the whole run (tests/support/compiling.py).

    The deployment is shared: register its bundles on the test's own engine and copy its forms before changing them.
    """
    from tests.support.compiling import remembering_compiler  # it imports ROLES from here

    return remembering_compiler()
