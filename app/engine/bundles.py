"""Bundles: one top-level process with every process it calls, its DMN tables and its forms.

``plan_bundles`` finds the bundles of a library and their content hashes (lxml only);
``compile_bundle`` checks one and parses it with SpiffWorkflow — the only place that parses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser

from app.engine.checks import check_decision_tables, check_process
from app.engine.dataflow import dataflow_problems
from app.engine.library import NS, Library, ProcessInfo, spiff_properties
from app.engine.problems import DefinitionError, Problem
from app.engine.serialization import SpecPair

_parses = 0


def parse_count() -> int:
    """How many times SpiffWorkflow has parsed a bundle in this process (tests prove requests never do)."""
    return _parses


@dataclass(frozen=True)
class BundlePlan:
    process_id: str
    title: str
    files: tuple[str, ...]
    content_hash: str


@dataclass(frozen=True)
class CompiledBundle:
    plan: BundlePlan
    specs: SpecPair
    start_roles: tuple[str, ...]
    start_form: str | None
    lane_roles: dict[str, str]


def plan_bundles(library: Library) -> tuple[list[BundlePlan], list[Problem]]:
    """Every top-level process's bundle, and the problems of references that lead nowhere."""
    plans: list[BundlePlan] = []
    problems: list[Problem] = []
    for process_id in library.top_level_process_ids():
        files, missing = _bundle_files(library, process_id)
        problems.extend(missing)
        info = library.processes[process_id]
        plans.append(BundlePlan(process_id, info.title, files, _content_hash(library, process_id, files)))
    return plans, problems


def _bundle_files(library: Library, process_id: str) -> tuple[tuple[str, ...], list[Problem]]:
    files: set[str] = set()
    problems: list[Problem] = []
    seen: set[str] = set()
    pending = [process_id]
    while pending:
        info = library.processes[pending.pop()]
        if info.process_id in seen:
            continue
        seen.add(info.process_id)
        files.add(info.file)
        problems.extend(_collect_references(library, info, files, pending))
    return tuple(sorted(files)), problems


def _collect_references(library: Library, info: ProcessInfo, files: set[str], pending: list[str]) -> list[Problem]:
    problems = []
    for element_id, called in info.calls.items():
        if called in library.processes:
            pending.append(called)
        else:
            problems.append(Problem(info.file, element_id, f"calls process '{called}', which is not deployed"))
    for element_id, decision in info.decisions.items():
        if decision in library.decisions:
            files.add(library.decisions[decision])
        else:
            problems.append(Problem(info.file, element_id, f"uses decision '{decision}', which no DMN file defines"))
    for element_id, form in info.forms.items():
        if form in library.forms:
            files.add(form)
        elif form not in library.texts:
            problems.append(Problem(info.file, element_id, f"form '{form}' does not exist"))
    return problems


def _content_hash(library: Library, process_id: str, files: tuple[str, ...]) -> str:
    digest = hashlib.sha256(process_id.encode() + b"\0")
    for name in files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(library.texts[name]).digest())
    return digest.hexdigest()


def compile_bundle(library: Library, plan: BundlePlan, role_names: Mapping[str, str],
                   system_variables: Iterable[str] = (),
                   start_variables: Iterable[str] | None = None) -> CompiledBundle:
    """Check and parse one bundle; raise DefinitionError with every problem found.

    ``system_variables`` are the names the application puts in task data itself (e.g. the
    ticket number at start), which timer expressions may use as well as form fields.
    ``start_variables``: what the starter of this bundle's process puts in its data; given, the
    data-flow check runs too (every variable read is set on every path).
    """
    global _parses
    problems: list[Problem] = []
    for info in library.processes.values():
        if info.file in plan.files:
            problems.extend(check_process(info, library, role_names, frozenset(system_variables)))
    if start_variables is not None:
        problems.extend(dataflow_problems(library, plan.process_id, start_variables))
    for name in plan.files:
        if name in library.dmn:
            problems.extend(check_decision_tables(name, library.dmn[name]))
    if problems:
        raise DefinitionError(problems)
    _parses += 1
    specs = _parse_with_spiff(library, plan)
    top = library.processes[plan.process_id]
    return CompiledBundle(plan, specs, _start_roles(top, role_names), _start_form(top),
                          _lane_roles(library, plan, role_names))


def _parse_with_spiff(library: Library, plan: BundlePlan) -> SpecPair:
    parser = SpiffBpmnParser()
    try:
        for name in plan.files:
            if name in library.bpmn:
                parser.add_bpmn_xml(library.bpmn[name].getroottree(), filename=name)
            elif name in library.dmn:
                parser.add_dmn_xml(library.dmn[name], filename=name)
        spec = parser.get_spec(plan.process_id)
        return spec, parser.get_subprocess_specs(plan.process_id)
    except ValidationException as exc:
        top_file = library.processes[plan.process_id].file
        raise DefinitionError([Problem(exc.file_name or top_file, exc.id or None, str(exc))]) from exc
    except Exception as exc:  # the parser raises bare exceptions for some malformed models
        raise DefinitionError([Problem(library.processes[plan.process_id].file, None,
                                       f"{type(exc).__name__}: {exc}")]) from exc


def _start_roles(info: ProcessInfo, role_names: Mapping[str, str]) -> tuple[str, ...]:
    declared = spiff_properties(info.node).get("startRoles")
    if declared:
        return tuple(role_names[name.strip()] for name in declared.split(",") if name.strip() in role_names)
    lane = info.node.find("bpmn:laneSet/bpmn:lane", NS)
    if lane is None:
        return ()
    role = role_names.get((lane.get("name") or "").strip())
    return (role,) if role else ()


def _start_form(info: ProcessInfo) -> str | None:
    for element_id, form in info.forms.items():
        node = info.node.find(f".//*[@id='{element_id}']")
        if node is not None and node.tag.endswith("}startEvent"):
            return form
    return None


def _lane_roles(library: Library, plan: BundlePlan, role_names: Mapping[str, str]) -> dict[str, str]:
    lane_tag = f"{{{NS['bpmn']}}}lane"
    lanes = (lane for name in plan.files if name in library.bpmn for lane in library.bpmn[name].iter(lane_tag))
    return {name: role_names[name] for name in ((lane.get("name") or "").strip() for lane in lanes)
            if name in role_names}
