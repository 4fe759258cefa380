"""What a designer deploys or a caller sends cannot hang or reach out (issue 13): form patterns match in linear
time with ECMA-262's ASCII classes, a form's $ref stays inside the form, deep JSON is refused with 422, and a
definition file name the designer would refuse is refused by the API too."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.services.errors import InvalidFormError
from app.services.people.organisation import create_project, create_unit
from app.services.work.forms import clean_submission
from tests.conftest import Api
from tests.console_client import Browser
from tests.web.test_api_uploads import upload

TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"
RESOLVE = json.loads((TICKET_FIXTURES / "ticket_resolve.json").read_text(encoding="utf-8"))


def ticket_files(**remarks: Any) -> dict[str, bytes]:
    """The ticket fixture, its resolve form's ``remarks`` field given ``remarks`` (a pattern, a $ref...)."""
    form = json.loads(json.dumps(RESOLVE))
    form["properties"]["remarks"] |= remarks
    return {"reception.bpmn": (TICKET_FIXTURES / "reception.bpmn").read_bytes(),
            "ticket_intake.json": (TICKET_FIXTURES / "ticket_intake.json").read_bytes(),
            "ticket_resolve.json": json.dumps(form).encode()}


def problems(response: Any) -> list[tuple[str, str | None, str]]:
    return [(p["file"], p["element_id"], p["message"]) for p in response.json["problems"]]


@pytest.fixture
def designer(api_as) -> Api:
    return api_as("lin", "designer")


@pytest.fixture
def estate(app) -> None:
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")


def resolve_task(agent: Api) -> str:
    """A new ticket's id of its resolve task."""
    opened = agent.post("/tickets", json={"data": {
        "project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
        "category": "repair", "description": "厨房漏水"}})
    assert opened.status_code == 201, opened.json
    return opened.json["instance"]["tasks"][0]["id"]


# ---- patterns: RE2, linear in the text, ASCII classes as in ECMA-262 ----------------------------------------

def test_a_pattern_that_would_backtrack_exponentially_answers_at_once_with_a_field_error(designer, estate, api_as):
    assert upload(designer, ticket_files(pattern="^(a+)+$")).status_code == 201
    agent = api_as("wang", "cs_agent")
    # Python's backtracking engine needs 2^64 steps for this; RE2 reads the text once.
    refused = agent.complete(resolve_task(agent), {"outcome": "resolved", "remarks": "a" * 64 + "!"})
    assert refused.status_code == 422, refused.json
    assert list(refused.json["errors"]) == ["remarks"]
    assert agent.complete(resolve_task(agent), {"outcome": "resolved", "remarks": "a" * 64}).status_code == 200


@pytest.mark.parametrize("typed", ["１３８００１３８０００", "13800138000\n", "138001380००"])
def test_a_digits_pattern_takes_ascii_digits_only_and_no_trailing_newline(designer, estate, api_as, typed):
    assert upload(designer, ticket_files(pattern=r"^\d{11}$")).status_code == 201
    agent = api_as("wang", "cs_agent")
    refused = agent.complete(resolve_task(agent), {"outcome": "resolved", "remarks": typed})
    assert refused.status_code == 422, refused.json
    assert list(refused.json["errors"]) == ["remarks"]


@pytest.mark.parametrize(("pattern", "reason"), [("^(?=1)\\d+$", "invalid perl operator"),
                                                  ("^(a)\\1$", "invalid escape sequence")])
def test_a_pattern_only_a_backtracking_engine_can_run_is_refused_at_deploy_naming_form_and_field(
        designer, pattern, reason):
    refused = upload(designer, ticket_files(pattern=pattern))
    assert refused.status_code == 422, refused.json
    assert [(file, field) for file, field, message in problems(refused) if reason in message] == [
        ("ticket_resolve.json", "remarks")]


# ---- $ref: only inside the form, never fetched ----------------------------------------------------------------

@pytest.mark.parametrize("reference", ["http://127.0.0.1:9/remarks.json", "file:///etc/passwd", "ticket_intake.json",
                                       "ticket_intake.json#/properties/unit"])
def test_a_ref_outside_the_form_is_refused_at_deploy_naming_the_form_and_the_pointer(designer, reference):
    refused = upload(designer, ticket_files(**{"$ref": reference}))
    assert refused.status_code == 422, refused.json
    found = [(file, field, message) for file, field, message in problems(refused) if reference in message]
    assert found == [("ticket_resolve.json", "remarks", f"$ref {reference!r} at /properties/remarks leaves the "
                                                        "form: only references inside it (#/...) are allowed")]


def test_a_ref_inside_the_form_still_checks_the_field(designer, estate, api_as):
    files = ticket_files(**{"$ref": "#/$defs/short"})
    form = json.loads(files["ticket_resolve.json"]) | {"$defs": {"short": {"type": "string", "maxLength": 5}}}
    assert upload(designer, files | {"ticket_resolve.json": json.dumps(form).encode()}).status_code == 201
    agent = api_as("wang", "cs_agent")
    refused = agent.complete(resolve_task(agent), {"outcome": "resolved", "remarks": "too long"})
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["remarks"]


@pytest.fixture
def listener() -> Iterator[list[str]]:
    """A local HTTP server recording every path asked of it."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    asked.append(f"http://127.0.0.1:{server.server_port}")
    yield asked
    server.shutdown()
    server.server_close()


def test_a_form_deployed_before_the_check_with_a_remote_ref_never_fetches_it(app, listener):
    origin = listener.pop()
    schema = {"type": "object", "properties": {"remarks": {"$ref": f"{origin}/remarks.json"}}}
    with pytest.raises(InvalidFormError) as refused:
        clean_submission(schema, {"remarks": "x"})
    assert list(refused.value.errors) == ["data"]
    assert listener == []  # nothing was asked of the server the $ref names


# ---- deep JSON -------------------------------------------------------------------------------------------------

def test_a_form_nested_a_hundred_thousand_deep_is_refused_at_deploy(designer):
    deep = '{"type": "object", "properties": {"x": ' + '{"items": ' * 100_000 + "{}" + "}" * 100_000 + "}}"
    refused = upload(designer, ticket_files() | {"ticket_resolve.json": deep.encode()})
    assert refused.status_code == 422, refused.json
    assert ("ticket_resolve.json", None, "form is nested more than 64 levels deep") in problems(refused)


@pytest.mark.parametrize("depth", [70, 100_000])
def test_a_request_body_nested_too_deep_is_refused_with_422_on_the_body(designer, estate, api_as, depth):
    assert upload(designer, ticket_files()).status_code == 201
    agent = api_as("wang", "cs_agent")
    task_id = resolve_task(agent)
    body = '{"data": {"outcome": "resolved", "remarks": ' + "[" * depth + "]" * depth + "}}"
    refused = agent.client.post(f"/api/v1/tasks/{task_id}/complete", data=body, content_type="application/json",
                                headers=agent.user.headers)
    assert refused.status_code == 422, refused.json
    assert list(refused.json["errors"]) == ["body"]
    assert "64" in refused.json["errors"]["body"]


def test_a_body_as_deep_as_a_form_needs_is_read_as_before(designer, estate, api_as):
    assert upload(designer, ticket_files()).status_code == 201
    agent = api_as("wang", "cs_agent")
    assert agent.complete(resolve_task(agent), {"outcome": "resolved"}).status_code == 200


# ---- definition file names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../x.bpmn", "sub/x.bpmn", ".hidden.bpmn", "x y.bpmn", "x.bpmn.txt"])
def test_the_api_refuses_a_file_name_the_designer_would_refuse(designer, app, name):
    files = ticket_files()
    files[name] = files.pop("reception.bpmn")
    refused = upload(designer, files)
    assert refused.status_code == 422, refused.json
    assert problems(refused) == [(name, None, "a file name uses letters, digits and underscores and ends in "
                                              ".bpmn, .dmn or .json")]
    workspace = Browser(app.test_client())
    assert workspace.log_in("lin").status_code == 302
    assert workspace.get("/designer/").status_code == 200  # the designer's pages still open


# ---- the password policy on the command line ---------------------------------------------------------------------

def test_the_command_line_applies_the_password_policy_of_the_admin_page(app):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["users", "create", "li", "--role", "cs_agent", "--password", "1"])
    assert refused.exit_code != 0
    assert "at least 8 characters" in refused.output
    assert runner.invoke(args=["users", "token", "li"]).exit_code != 0  # no such user was made
    created = runner.invoke(args=["users", "create", "li", "--role", "cs_agent", "--password", "long-enough-1"])
    assert created.exit_code == 0, created.output
