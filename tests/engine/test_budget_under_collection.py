"""The step's CPU budget stays its own while the garbage collector runs inside ContextVar operations.

CPython's ContextVar.reset() to "no value" clears the variable's lookup cache and then allocates; a collection that
starts there and reads the variable (our callback that forgives the collector's time) cached a borrowed pointer to
the budget being removed, and later reads returned it after it was freed: the suite crashed with a Budget that had
become a weakref or a SQLAlchemy object, or with a segfault. Run in a child process, since the failure can be one.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import ROOT

STEPS_UNDER_CONSTANT_COLLECTION = """
import contextvars, gc
from app.engine.limits import DEFAULT_LIMITS, current_budget, step_budget

others = [contextvars.ContextVar(f"other{n}") for n in range(5)]  # a request's context holds several variables
for var in others:
    var.set(1)
gc.set_threshold(1, 1, 1)  # a collection at almost every allocation, inside the ContextVar's own operations too
for _ in range(2000):
    with step_budget(lambda: DEFAULT_LIMITS) as budget:
        assert current_budget() is budget
    after_the_step = current_budget()
    assert after_the_step is not budget, "a finished step's budget is still the current one"
    assert type(after_the_step).__name__ == "Budget"
gc.set_threshold(700, 10, 10)
print("every step had its own budget")
"""


def test_each_step_has_its_own_budget_while_the_collector_runs_at_every_allocation() -> None:
    child = subprocess.run([sys.executable, "-c", STEPS_UNDER_CONSTANT_COLLECTION], cwd=ROOT, capture_output=True,
                           text=True, timeout=300, check=False)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    assert "every step had its own budget" in child.stdout
