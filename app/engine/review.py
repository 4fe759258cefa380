"""Checking a set of drafts without SpiffWorkflow's parser: what the designer sees on every save.

Deploying runs the full check (``bundles.compile_bundle``, which also parses); this is the part
that needs no parse, limited to what the drafts touch, so saving a draft stays cheap and never
counts as a parse.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping

from app.engine.bundles import plan_bundles
from app.engine.checks import check_decision_tables, check_process
from app.engine.dataflow import dataflow_problems
from app.engine.library import Library, ProcessInfo, read_library
from app.engine.problems import Problem


def read_drafts(deployed: Mapping[str, bytes], drafts: Mapping[str, bytes]) -> Library:
    """The library of the drafts over the deployed files.

    Deployed forms passed the JSON Schema meta-schema check when they were deployed, so only the
    drafts' forms are checked again (the meta-schema check is the slowest part of reading).
    """
    trusted = {name: text for name, text in deployed.items() if name.endswith(".json") and name not in drafts}
    library = read_library({**{n: t for n, t in deployed.items() if n not in trusted}, **drafts})
    for name, text in trusted.items():
        library.texts[name] = text
        library.forms[name] = json.loads(text)
    return library


def review_library(library: Library, touched: Collection[str], role_names: Mapping[str, str],
                   system_variables: Iterable[str] = (),
                   start_variables: Callable[[str], Iterable[str]] | None = None) -> list[Problem]:
    """The problems of the ``touched`` files and of the processes that use them (checks only, no parse).

    ``start_variables`` (what the starter of a process puts in its data): given, the data-flow check runs too.
    """
    problems = [p for p in library.problems if p.file in touched]
    plans, reference_problems = plan_bundles(library)
    affected = [plan for plan in plans if set(plan.files) & set(touched)]
    files = {name for plan in affected for name in plan.files} | set(touched)
    problems += [p for p in reference_problems if p.file in files]
    variables = frozenset(system_variables)
    for info in library.processes.values():
        if info.file in files and _uses(info, library, touched):
            problems += check_process(info, library, role_names, variables)
    for name in sorted(touched):
        if name in library.dmn:
            problems += check_decision_tables(name, library.dmn[name])
    if start_variables is not None:
        for plan in affected:
            problems += dataflow_problems(library, plan.process_id, start_variables(plan.process_id))
    problems += not_runnable(library, touched)
    return list(dict.fromkeys(problems))


def _uses(info: ProcessInfo, library: Library, touched: Collection[str]) -> bool:
    """Whether the process is in a touched file or names a touched form, decision table or process."""
    if info.file in touched or set(info.forms.values()) & set(touched):
        return True
    decision_files = {library.decisions.get(decision) for decision in info.decisions.values()}
    called_files = {library.processes[called].file for called in info.calls.values() if called in library.processes}
    return bool((decision_files | called_files) & set(touched))


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
