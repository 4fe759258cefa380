"""Checking a set of drafts without SpiffWorkflow's parser: what the designer sees on every save.

Deploying runs the full check (``bundles.compile_bundle``, which also parses); this is the part
that needs no parse, so saving a draft stays cheap and never counts as a parse.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from app.engine.bundles import plan_bundles
from app.engine.checks import check_decision_tables, check_process
from app.engine.library import Library
from app.engine.problems import Problem


def review_library(library: Library, touched: Collection[str], role_names: Mapping[str, str],
                   system_variables: Iterable[str] = ()) -> list[Problem]:
    """The problems of every bundle that holds one of the ``touched`` files (checks only, no parse)."""
    problems = [p for p in library.problems if p.file in touched]
    plans, reference_problems = plan_bundles(library)
    affected = [plan for plan in plans if set(plan.files) & set(touched)]
    files = {name for plan in affected for name in plan.files} | set(touched)
    problems += [p for p in reference_problems if p.file in files]
    variables = frozenset(system_variables)
    for info in library.processes.values():
        if info.file in files:
            problems += check_process(info, library, role_names, variables)
    for name in sorted(files):
        if name in library.dmn:
            problems += check_decision_tables(name, library.dmn[name])
    problems += not_runnable(library, touched)
    return list(dict.fromkeys(problems))


def not_runnable(library: Library, touched: Collection[str]) -> list[Problem]:
    """Processes in ``touched`` files that would never be deployed: not executable and called by nobody."""
    called = library.called_process_ids()
    return [
        Problem(info.file, info.process_id,
                "process is not executable (isExecutable is not true) and no process calls it, "
                "so nothing of it would be deployed; mark it executable")
        for info in library.processes.values()
        if info.file in touched and not info.executable and info.process_id not in called
    ]
