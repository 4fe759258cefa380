"""The data-flow check through POST /definitions and the designer: a diagram reading a variable that some
path does not set is refused on the element, naming the variable and one path; set on every path, it deploys."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES
from tests.web.test_api_uploads import upload

DATAFLOW = FIXTURES / "dataflow"
MAIN = ("df_main.bpmn", "df_intake.json", "df_review.json")
CALLER = ("df_caller.bpmn", "df_price.bpmn", "df_intake.json", "df_review.json")


def files(*names: str, edit: tuple[str, str, str] | None = None) -> dict[str, bytes]:
    texts = {name: (DATAFLOW / name).read_bytes() for name in names}
    if edit is not None:
        name, old, new = edit
        assert old.encode() in texts[name]
        texts[name] = texts[name].replace(old.encode(), new.encode())
    return texts


@pytest.fixture
def designer(api_as):
    return api_as("lin", "designer")


def test_a_variable_set_on_one_branch_only_is_refused_on_the_element_with_the_path(designer, api_as):
    response = upload(designer, files(*MAIN))

    assert response.status_code == 422
    [problem] = response.json["problems"]
    assert (problem["file"], problem["element_id"]) == ("df_main.bpmn", "review")
    assert "reads 'level'" in problem["message"]
    assert "start → prepare → gw_amount → gw_merge → review" in problem["message"]
    assert api_as("admin", "admin").get("/processes").json["items"] == []


def test_set_on_every_path_the_same_diagram_deploys_and_runs(designer, api_as):
    fixed = files(*MAIN, edit=("df_main.bpmn", "squares = [n * n", 'level = "normal"\nsquares = [n * n'))

    response = upload(designer, fixed)

    assert response.status_code == 201, response.json
    started = api_as("wang", "cs_agent").start("df_main", {"amount": 3})
    assert started.status_code == 201, started.json


def test_an_optional_field_read_in_a_condition_is_refused_on_the_flow(designer):
    edited = files(*MAIN, edit=("df_main.bpmn", "amount &gt; 100", "amount &gt; 100 or urgent"))

    response = upload(designer, edited)

    assert response.status_code == 422
    problems = {(p["element_id"], p["message"].split(" reads ")[1].split(",")[0]) for p in response.json["problems"]}
    assert ("flow_big", "'urgent'") in problems


def test_a_called_process_reading_what_its_caller_never_sets_is_refused_in_its_own_file(designer):
    response = upload(designer, files(*CALLER, edit=("df_price.bpmn", "amount * 3", "amount * rate")))

    assert response.status_code == 422
    [problem] = response.json["problems"]
    assert (problem["file"], problem["element_id"]) == ("df_price.bpmn", "compute_price")
    assert "reads 'rate'" in problem["message"]
    assert "start → call_price → price_start → compute_price" in problem["message"]


def test_data_set_by_the_caller_and_by_the_called_process_deploys(designer):
    assert upload(designer, files(*CALLER)).status_code == 201



def ticket_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((FIXTURES / "tickets").iterdir())}


def test_a_ticket_process_may_read_what_the_ticket_service_sets_at_start(designer):
    # it reads the ticket's data, so it only ever starts as a ticket, with reported_at and the rest
    assert upload(designer, ticket_files()).status_code == 201


def test_a_process_that_reads_no_ticket_data_does_not_start_with_it(designer):
    # escalation_level alone does not make a ticket process: a generic start gives it no ticket data
    texts = files(*MAIN, edit=("df_main.bpmn", "squares = [n * n", 'level = escalation_level\nsquares = [n * n'))

    response = upload(designer, texts)

    assert response.status_code == 422
    assert [(p["element_id"], "reads 'escalation_level'" in p["message"]) for p in response.json["problems"]] == [
        ("prepare", True)]


def test_a_process_may_declare_what_its_starter_sets(designer):
    declared = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="startVariables" '
                'value="level" /></spiffworkflow:properties></bpmn:extensionElements>')
    texts = files(*MAIN, edit=("df_main.bpmn", 'isExecutable="true">', f'isExecutable="true">{declared}'))

    assert upload(designer, texts).status_code == 201
