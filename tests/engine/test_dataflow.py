"""The data-flow check on small diagrams: what counts as set, what counts as read, and the path it names."""

from __future__ import annotations

import pytest

from app.engine import read_library
from app.engine.dataflow import check_dataflow, script_effect, template_reads
from tests.conftest import FIXTURES

DATAFLOW = FIXTURES / "dataflow"


def files(*names: str, **replacements: tuple[str, str]) -> dict[str, bytes]:
    texts = {name: (DATAFLOW / name).read_bytes() for name in names}
    for name, (old, new) in replacements.items():
        name = name.replace("_bpmn", ".bpmn").replace("_json", ".json")
        assert old.encode() in texts[name], old
        texts[name] = texts[name].replace(old.encode(), new.encode())
    return texts


def findings(texts: dict[str, bytes], process_id: str, start: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    library = read_library(texts)
    assert library.problems == []
    return [(f.element_id, f.variable, " > ".join(f.path)) for f in check_dataflow(library, process_id, start)]


MAIN = ("df_main.bpmn", "df_intake.json", "df_review.json")


def test_a_variable_set_on_one_branch_only_is_reported_with_the_branch_that_misses_it():
    assert findings(files(*MAIN), "df_main") == [("review", "level", "start > prepare > gw_amount > gw_merge > review")]


def test_a_default_in_the_first_script_sets_it_on_every_path():
    texts = files(*MAIN, df_main_bpmn=("squares = [n * n", 'level = "normal"\nsquares = [n * n'))
    assert findings(texts, "df_main") == []


def test_an_optional_form_field_read_in_a_condition_is_reported_on_the_flow():
    texts = files(*MAIN, df_main_bpmn=("amount &gt; 100", "amount &gt; 100 or urgent"))
    assert ("flow_big", "urgent", "start > prepare > gw_amount > flow_big") in findings(texts, "df_main")


def test_a_required_field_of_a_later_form_does_not_count_before_it():
    texts = files(*MAIN, df_main_bpmn=('level = "high"', 'level = "high" if ok else "low"'))
    assert ("mark_big", "ok", "start > prepare > gw_amount > flow_big > mark_big") in findings(texts, "df_main")


def test_a_start_variable_declared_on_the_process_counts_as_set():
    texts = files(*MAIN, df_main_bpmn=('isExecutable="true">', 'isExecutable="true"><bpmn:extensionElements>'
                                       '<spiffworkflow:properties><spiffworkflow:property name="startVariables" '
                                       'value="level, channel" /></spiffworkflow:properties></bpmn:extensionElements>'))
    assert findings(texts, "df_main") == []


def test_the_start_variables_the_system_sets_count_as_set():
    assert findings(files(*MAIN), "df_main", start=("level",)) == []


def test_data_flows_into_a_called_process_and_back_out():
    assert findings(files("df_caller.bpmn", "df_price.bpmn", "df_intake.json", "df_review.json"), "df_caller") == []


def test_a_called_process_reading_what_the_caller_never_sets_is_reported_in_its_own_file():
    texts = files("df_caller.bpmn", "df_price.bpmn", "df_intake.json", "df_review.json",
                  df_price_bpmn=("price = amount * 3", "price = amount * rate"))
    library = read_library(texts)
    [finding] = check_dataflow(library, "df_caller")
    assert (finding.file, finding.element_id, finding.variable) == ("df_price.bpmn", "compute_price", "rate")
    assert finding.path == ("start", "call_price", "price_start", "compute_price")


def test_what_a_called_process_sets_only_sometimes_is_not_set_after_the_call():
    texts = files("df_caller.bpmn", "df_price.bpmn", "df_intake.json", "df_review.json",
                  df_price_bpmn=("price = amount * 3", "if amount:\n    price = amount * 3"))
    assert findings(texts, "df_caller") == [("confirm", "price", "start > call_price > price_start > compute_price "
                                                                 "> price_end > call_price > confirm")]


@pytest.mark.parametrize(("script", "reads", "sets"), [
    ("total = a + b", {"a", "b"}, {"total"}),
    ("x = 1\ny = x + 1", set(), {"x", "y"}),  # assigned before read: local
    ("y = [i * k for i in items if i]", {"k", "items"}, {"y"}),  # comprehension variables are its own
    ("y = order.total + fees.get('k', 0)", {"order", "fees"}, {"y"}),  # attribute and .get read the name only
    ("if a:\n    b = 1\nelse:\n    b = 2", {"a"}, {"b"}),  # set on both branches
    ("if a:\n    b = 1", {"a"}, set()),  # set on one branch only
    ("try:\n    n = n or 0\nexcept NameError:\n    n = 0", set(), {"n"}),  # a guarded read
    ("try:\n    n = int(n)\nexcept ValueError:\n    n = 0", {"n"}, {"n"}),  # not a NameError guard
    ("for i in items:\n    last = i", {"items"}, set()),  # a loop may run zero times
    ("n += 1", {"n"}, {"n"}),
    ("f = lambda v: v * rate", {"rate"}, {"f"}),
    ("d['k'] = now()", {"d"}, set()),  # a helper is no variable; item assignment reads the dict
])
def test_what_a_script_reads_and_sets(script, reads, sets):
    effect = script_effect(script)
    assert (set(effect.reads), set(effect.sets)) == (reads, sets)


def test_a_deleted_name_is_no_longer_set():
    assert set(script_effect("del stage, rework_count").deletes) == {"stage", "rework_count"}


@pytest.mark.parametrize(("template", "reads"), [
    ("{{ a }} {{ b.c }}", {"a", "b"}),
    ("{% if note is defined %}{{ note }}{% endif %}", set()),
    ("{% if note is defined and note %}{{ note }}{% else %}{{ other }}{% endif %}", {"other"}),
    ("{% if note is not defined %}-{% else %}{{ note }}{% endif %}", set()),
    ("{{ note | default('-') }}", set()),
    ("{% if solution %}{{ solution }}{% endif %}", set()),  # a missing value is false: a plain test guards
    ("{% if a and b > 1 %}{{ a }}{% endif %}", {"b"}),  # a comparison reads its name
    ("{% if not a %}{{ a }}{% endif %}", {"a"}),
    ("{% if a > 1 %}{{ a }}{% endif %}", {"a"}),  # comparing a missing value fails
    ("{% for item in items %}{{ item.name }} {{ loop.index }}{% endfor %}", {"items"}),
    ("[zh]\n{{ a }}\n[en]\n{{ b }}", {"a", "b"}),
])
def test_what_an_instruction_template_reads(template, reads):
    assert set(template_reads(template)) == reads


def test_a_boundary_event_starts_with_what_was_set_when_its_activity_began():
    texts = files("df_boundary.bpmn", "df_intake.json", "df_review.json")
    assert findings(texts, "df_boundary") == [("remind", "ok", "start > review > remind_timer > remind")]



def test_the_item_of_a_multi_instance_task_counts_as_set_inside_it():
    loop = ('<bpmn:outgoing>flow_reviewed</bpmn:outgoing><bpmn:multiInstanceLoopCharacteristics>'
            '<bpmn:loopDataInputRef>squares</bpmn:loopDataInputRef><bpmn:inputDataItem id="square" name="square" />'
            '</bpmn:multiInstanceLoopCharacteristics>')
    texts = files(*MAIN, df_main_bpmn=("<bpmn:outgoing>flow_reviewed</bpmn:outgoing>", loop))
    texts["df_main.bpmn"] = texts["df_main.bpmn"].replace(b'{{ extra | default("") }}', b"{{ square }} {{ other }}")
    assert [(element, variable) for element, variable, _ in findings(texts, "df_main")] == [
        ("review", "level"), ("review", "other")]


def test_the_shipped_flows_read_only_what_every_path_sets():
    from pathlib import Path

    from app.services.definitions.deploy import read_definition_dir, start_variables

    root = Path(__file__).resolve().parents[2]
    library = read_library(read_definition_dir(root / "bpmn") | read_definition_dir(root / "forms"))
    found = [finding for process_id in library.top_level_process_ids()
             for finding in check_dataflow(library, process_id, start_variables(library, process_id))]
    assert [(f.file, f.element_id, f.variable) for f in found] == []


def test_a_receive_task_sets_its_message_variable():
    assert findings(files("df_receive.bpmn"), "df_receive") == []
    unnamed = files("df_receive.bpmn", df_receive_bpmn=("messageVariable>answer", "messageVariable>reply"))
    assert findings(unnamed, "df_receive") == [("take", "answer", "start > await_answer > take")]
