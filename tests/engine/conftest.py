"""Engine fixtures: fixture diagrams compiled into bundles, engines whose spec loader is a plain dict.

No Flask app and no database here: the engine is driven the way the services drive it, with a
``ManualClock`` that tests move instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from app.clock import ManualClock
from app.engine import CompiledBundle, Engine, StepResult, UserTaskView
from tests.support.compiling import Compiler, deploy_texts  # noqa: F401  (tests import it from here)
from tests.support.fixtures import ROLES, START, ready_names  # noqa: F401  (tests import them from here)
from tests.support.paths import FIXTURES

BROKEN = FIXTURES / "broken"


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every definition file of a folder (EXPECTED.txt and the like are not definitions)."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.is_file() and path.suffix in (".bpmn", ".dmn", ".json")}


def rewritten(name: str, old: str, new: str) -> dict[str, bytes]:
    """The fixture file ``name`` with its one occurrence of ``old`` replaced by ``new`` (XML-escaped)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {name}"
    return {name: text.replace(old, escape(new)).encode()}


def ready_task(result: StepResult, name: str) -> UserTaskView:
    """The one READY task called ``name``; fails the test with what is ready instead."""
    matches = [task for task in result.ready_tasks if task.name == name]
    assert len(matches) == 1, f"expected one ready '{name}', ready: {[t.name for t in result.ready_tasks]}"
    return matches[0]


@pytest.fixture
def fixture_texts() -> Callable[..., dict[str, bytes]]:
    """``fixture_texts("caller.bpmn", "callee.bpmn", replace={...})``: the named fixture files plus every form.

    Forms ride along because a bundle only takes the forms its diagrams name. ``replace`` gives a
    file's bytes instead of reading them: a fixture with its script rewritten, or a diagram written
    in the test itself.
    """

    def read(*names: str, replace: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
        given = dict(replace or {})
        forms = {path.name: path.read_bytes() for path in sorted(FIXTURES.glob("*.json"))}
        return {**forms, **{name: (FIXTURES / name).read_bytes() for name in names if name not in given}, **given}

    return read


@pytest.fixture
def compile_fixture(fixture_texts: Callable[..., dict[str, bytes]],
                    compiled: Compiler) -> Callable[..., dict[str, CompiledBundle]]:
    """``compile_fixture(*files, replace=None)``: compiled bundles by process id; any problem fails the test.

    Compiled once per content for the run (the bundles are only read); each test registers them on its own engine.
    """

    def compile_files(*names: str, replace: Mapping[str, bytes] | None = None) -> dict[str, CompiledBundle]:
        deployment = compiled(fixture_texts(*names, replace=replace))
        assert deployment.problems == []
        return dict(deployment.bundles)

    return compile_files


@pytest.fixture
def specs() -> dict[str, str]:
    """The stored serialized specs by spec key: what the database's bundle table holds."""
    return {}


@pytest.fixture
def make_engine(specs: dict[str, str], clock: ManualClock) -> Callable[[], Engine]:
    """A new Engine each call, with an empty spec cache and the shared ``specs`` store as loader."""

    def make() -> Engine:
        return Engine(specs.__getitem__, clock)

    return make


@pytest.fixture
def engine(make_engine: Callable[[], Engine]) -> Engine:
    return make_engine()


@pytest.fixture
def deploy(engine: Engine, specs: dict[str, str],
           compile_fixture: Callable[..., dict[str, CompiledBundle]]) -> Callable[..., Engine]:
    """``deploy(*files, replace=None)``: compile, register on ``engine`` and store under the process id."""

    def run(*names: str, replace: Mapping[str, bytes] | None = None) -> Engine:
        for process_id, bundle in compile_fixture(*names, replace=replace).items():
            specs[process_id] = engine.register_bundle(process_id, bundle)
        return engine

    return run


@pytest.fixture
def complete_ready(engine: Engine) -> Callable[..., StepResult]:
    """``complete_ready(result, "record", {...})``: complete the READY task of that name in ``result``'s state."""

    def complete(result: StepResult, name: str, data: Mapping[str, Any] | None = None) -> StepResult:
        return engine.complete(result.state, ready_task(result, name).task_id, data or {})

    return complete
