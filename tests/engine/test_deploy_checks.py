"""Deploy-time refusals on the element at fault, and content hashes that version bundles."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from app.engine import plan_bundles, read_library
from app.engine.scripting import ScriptCompileError, compile_expression, compile_script
from tests.engine.conftest import BROKEN, FIXTURES, deploy_texts, read_folder, rewritten

RESTRICTED = ["__import__('os')", "().__class__.__base__.__subclasses__()"]


def expected_element(folder: str) -> str:
    return (BROKEN / folder / "EXPECTED.txt").read_text(encoding="utf-8").strip()


BROKEN_FOLDERS = sorted(path.name for path in BROKEN.iterdir() if path.is_dir())
UNREADABLE = [folder for folder in BROKEN_FOLDERS if expected_element(folder) == "-"]
FAULTY_ELEMENT = [folder for folder in BROKEN_FOLDERS if expected_element(folder) != "-"]


def plan_hashes(texts: Mapping[str, bytes]) -> dict[str, str]:
    plans, problems = plan_bundles(read_library(texts))
    assert problems == []
    return {plan.process_id: plan.content_hash for plan in plans}


def edited(name: str) -> dict[str, bytes]:
    """The fixture file with a harmless edit: same meaning, different bytes."""
    content = (FIXTURES / name).read_bytes()
    return {name: content + (b"\n" if name.endswith(".json") else b"\n<!-- edited -->\n")}


def test_every_broken_fixture_folder_is_covered():
    assert set(UNREADABLE) == {"billion_laughs", "malformed_xml", "xxe"}
    assert len(FAULTY_ELEMENT) >= 7


@pytest.mark.parametrize("folder", UNREADABLE)
def test_hostile_or_malformed_xml_is_refused_while_reading(folder):
    library = read_library(read_folder(BROKEN / folder))

    assert any(p.file == f"{folder}.bpmn" and p.element_id is None for p in library.problems)
    assert folder not in library.processes
    assert all("root:" not in p.message for p in library.problems)  # no /etc/passwd leaks into a message


@pytest.mark.parametrize("folder", FAULTY_ELEMENT)
def test_broken_definition_is_refused_on_the_element_at_fault(folder):
    deployment = deploy_texts(read_folder(BROKEN / folder))

    faults = {(p.file, p.element_id) for p in deployment.problems}
    assert (f"{folder}.bpmn", expected_element(folder)) in faults


def test_every_problem_of_a_missing_call_target_names_the_diagram():
    deployment = deploy_texts(read_folder(BROKEN / "missing_call_target"))

    assert {p.file for p in deployment.problems} == {"missing_call_target.bpmn"}


@pytest.mark.parametrize("source", RESTRICTED)
def test_restricted_python_refuses_to_compile_escapes(source):
    with pytest.raises(ScriptCompileError):
        compile_expression(source)
    with pytest.raises(ScriptCompileError):
        compile_script(source)


@pytest.mark.parametrize("source", RESTRICTED)
def test_a_script_task_with_an_escape_is_refused_on_its_element(fixture_texts, source):
    texts = fixture_texts("script_ok.bpmn", replace=rewritten("script_ok.bpmn", "doubled = n * 2", source))

    problems = deploy_texts(texts).problems

    assert [(p.file, p.element_id) for p in problems] == [("script_ok.bpmn", "double")]
    assert "does not compile" in problems[0].message


@pytest.mark.parametrize("source", RESTRICTED)
def test_a_condition_with_an_escape_is_refused_on_its_flow(fixture_texts, source):
    texts = fixture_texts("gateway.bpmn", replace=rewritten("gateway.bpmn", "valid == True", source))

    problems = deploy_texts(texts).problems

    assert [(p.file, p.element_id) for p in problems] == [("gateway.bpmn", "flow_valid")]


def test_the_same_files_give_the_same_bundle_hashes(fixture_texts):
    files = fixture_texts("caller.bpmn", "callee.bpmn", "lanes.bpmn")

    assert plan_hashes(files) == plan_hashes(dict(reversed(list(files.items()))))
    assert plan_hashes(files) == plan_hashes(fixture_texts("caller.bpmn", "callee.bpmn", "lanes.bpmn"))


@pytest.mark.parametrize(("changed", "re_versioned"), [
    ("callee.bpmn", {"caller"}),
    ("callee_repair.json", {"caller"}),
    ("caller.bpmn", {"caller"}),
    ("lanes_record.json", {"lanes_demo"}),
    ("gateway_fix.json", set()),
])
def test_a_changed_file_re_versions_exactly_the_bundles_that_use_it(fixture_texts, changed, re_versioned):
    names = ("caller.bpmn", "callee.bpmn", "lanes.bpmn")
    before = plan_hashes(fixture_texts(*names))

    after = plan_hashes(fixture_texts(*names, replace=edited(changed)))

    assert {process_id for process_id in before if after[process_id] != before[process_id]} == re_versioned


@pytest.mark.parametrize(("rows", "overlaps"), [
    ([['"a"'], ['"b"'], ["-"]], [(1, 3), (2, 3)]),  # a dash matches anything
    ([['in ("a", "b")'], ['? in ("b", "c")'], ['"c"']], [(1, 2), (2, 3)]),
    ([["< 5"], [">= 5"], ["[5..6]"], ["4"]], [(1, 4), (2, 3)]),  # bounds are exact
    ([["? is not None and ? < 2"], ["? is not None and ? < 5"]], [(1, 2)]),
    ([["? < 8 or ? >= 20"], ["8 <= ? < 20"]], []),  # the night and the day shift
    ([['"a"', "< 5"], ['"a"', ">= 5"], ['"b"', "-"]], []),  # rows differ in one column: no overlap
    ([["is_vip(?)"], ["is_vip(?)"]], []),  # a cell the check cannot read never counts as overlapping
])
def test_overlapping_rows_of_a_decision_table(rows, overlaps):
    from app.engine.hit_policy import overlapping_rules

    assert overlapping_rules(rows) == overlaps
