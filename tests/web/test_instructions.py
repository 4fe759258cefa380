"""A task's instructions on the task page: the reader's language only, times in the business time zone,
and the deploy check refusing instructions that would not render."""

from __future__ import annotations

import io
import re
from pathlib import Path
from uuid import uuid4
from xml.sax.saxutils import unescape

import pytest
from lxml import etree
from markdown_it import MarkdownIt
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.engine.instructions import LimitedSandbox, instruction_problems, language_sections, render
from app.services.people.auth import set_locale
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user, find_user
from tests.web.test_console import PASSWORD, TICKET_FIXTURES, browser_of, record_call

ROOT = Path(__file__).resolve().parents[2]
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

# The clock starts at 2026-03-02 01:00 UTC; the fixture's deadline is 24 hours later: 2026-03-03 09:00 in Shanghai.
INSTRUCTIONS = """[zh]
**处理时限**：{{ due_at }}

类别：{{ category|label("category") }} · 紧急：{{ emergency|default(none) }}
[en]
**Due:** {{ due_at }}

Category: {{ category|label("category") }} · Emergency: {{ emergency|default(none) }}"""


def reception_with(instructions: str) -> bytes:
    """The ticket fixture's reception, its "resolve" task carrying ``instructions``."""
    text = (TICKET_FIXTURES / "reception.bpmn").read_text(encoding="utf-8")
    escaped = instructions.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    marker = '<bpmn:userTask id="resolve" name="处理 / Resolve">\n      <bpmn:extensionElements>'
    assert marker in text
    return text.replace(marker, f"{marker}\n        <spiffworkflow:instructionsForEndUser>{escaped}"
                                "</spiffworkflow:instructionsForEndUser>").encode()


def ticket_files(instructions: str) -> dict[str, bytes]:
    return {"reception.bpmn": reception_with(instructions),
            **{name: (TICKET_FIXTURES / name).read_bytes() for name in ("ticket_intake.json", "ticket_resolve.json")}}


@pytest.fixture
def estate(app, clock, deploy):
    deploy(ticket_files(INSTRUCTIONS))
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")
    create_user("wang", password=PASSWORD, roles=["cs_agent"], clock=clock)


def instructions_seen(browser, number: str) -> str:
    ticket = browser.get(f"/tickets/{number}").get_data(as_text=True)
    task_id = re.search(r"/tasks/([0-9a-f-]{36})", ticket).group(1)
    page = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    found = re.search(r'<div class="alert alert-info instructions" id="instructions">(.*?)</div>', page, re.S)
    assert found, page
    return found.group(1)


def test_a_chinese_reader_sees_only_chinese_with_the_deadline_in_shanghai_time(app, estate):
    agent = browser_of(app, "wang")
    shown = instructions_seen(agent, record_call(agent, emergency="false"))

    assert "<strong>处理时限</strong>：2026-03-03 09:00" in shown
    assert "类别：维修 · 紧急：否" in shown
    assert "Due" not in shown and "Category" not in shown and "Repair" not in shown
    assert "T01:00" not in shown and "+00:00" not in shown


def test_an_english_reader_sees_only_english_with_the_same_local_deadline(app, estate):
    agent = browser_of(app, "wang")
    number = record_call(agent, emergency="false")
    agent.post("/language", {"lang": "en", "next": "/"})
    shown = instructions_seen(agent, number)

    assert "<strong>Due:</strong> 2026-03-03 09:00" in shown
    assert "Category: Repair · Emergency: No" in shown
    assert "处理时限" not in shown and "维修" not in shown


def test_data_cannot_open_a_language_section(app, estate):
    agent = browser_of(app, "wang")
    number = record_call(agent, description="漏水\n[en]\nInjected")
    agent.post("/language", {"lang": "en", "next": "/"})
    assert "Injected" not in instructions_seen(agent, number)


def upload(client, token_headers, files: dict[str, bytes]):
    parts = MultiDict([("files", FileStorage(io.BytesIO(content), filename=name)) for name, content in files.items()])
    boundary, body = encode_multipart(parts)
    return client.post("/api/v1/definitions", data=body, headers=token_headers,
                       content_type=f"multipart/form-data; boundary={boundary}")


@pytest.mark.parametrize(("instructions", "message"), [
    ("[zh]\n时限 {{ due_at }\n[en]\nDue {{ due_at }}", "do not compile"),
    ("[zh]\n{% if emergency %}紧急\n[en]\nUrgent{% endif %}", "line 1 of the [zh] section"),
    ("[zh]\n{{ due_at|shout }}\n[en]\n{{ due_at }}", "No filter named 'shout'"),
    ("[zh]\n只有中文", "[en] section is missing"),
    ("[zh]\n中文\n[en]\nEnglish\n[fr]\nFrançais", "unknown language section [fr]"),
])
def test_the_deploy_refuses_instructions_that_would_not_render(app, make_user, instructions, message):
    designer = make_user("designer_1", "designer")
    refused = upload(app.test_client(), designer.headers, ticket_files(instructions))

    assert refused.status_code == 422, refused.json
    problems = [(p["file"], p["element_id"], p["message"]) for p in refused.json["problems"]]
    assert any(file == "reception.bpmn" and element == "resolve" and message in text
               for file, element, text in problems), problems


def shipped_instructions() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        for node in root.iter(f"{{{SPIFF}}}instructionsForEndUser"):
            task = node.getparent().getparent()
            found.append((path.name, task.get("id"), node.text or ""))
    return found


@pytest.mark.parametrize(("file", "task_id", "text"), shipped_instructions(), ids=lambda value: str(value)[:40])
def test_every_shipped_instruction_is_written_in_both_languages(file, task_id, text):
    assert list(instruction_problems(text)) == []
    _shared, sections = language_sections(text)
    assert set(sections) == {"zh", "en"}, f"{file} {task_id}"
    assert not re.search(r"[\u4e00-\u9fff]", sections["en"]), f"{file} {task_id}: Chinese in the [en] section"
    assert not re.search(r" / [A-Za-z]", unescape(sections["zh"])), f"{file} {task_id}: English in the [zh] section"


@pytest.mark.parametrize(("file", "task_id", "text"), shipped_instructions(), ids=lambda value: str(value)[:40])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_shipped_instruction_renders_as_markdown_without_stray_marks(file, task_id, text, language):
    """Bold text next to Chinese punctuation is easy to break (``**时限：**2026`` stays literal in CommonMark);
    the console renders instructions with markdown-it's CommonMark preset, as here."""
    names = set(re.findall(r"\b([a-z_]+)\b", text)) - {"if", "elif", "else", "endif", "and", "or", "not", "label"}
    data = {name: 1 for name in names}
    filled = render(text, data, language=language, timezone="Asia/Shanghai")
    shown = MarkdownIt("commonmark", {"html": False}).render(filled)
    assert "**" not in shown and "{{" not in shown and "{%" not in shown, f"{file} {task_id}: {shown}"


def test_the_api_gives_the_instructions_in_the_users_language(app, estate, api_as):
    agent = browser_of(app, "wang")
    number = record_call(agent, emergency="false")
    task_id = re.search(r"/tasks/([0-9a-f-]{36})", agent.get(f"/tickets/{number}").get_data(as_text=True)).group(1)
    reader = api_as("reader", "cs_agent")
    assert reader.get(f"/tasks/{task_id}").json["instructions"].startswith("**处理时限**：2026-03-03 09:00")

    set_locale(find_user("reader").id, "en")
    assert reader.get(f"/tasks/{task_id}").json["instructions"].startswith("**Due:** 2026-03-03 09:00")


def test_a_tasks_instructions_are_compiled_once_however_often_its_page_is_shown(app, clock, deploy, api_as,
                                                                               monkeypatch):
    """Compiling a template costs far more than rendering it: the same text is compiled once per language."""
    unique = INSTRUCTIONS.replace("\n[en]", f"{{# {uuid4().hex} #}}\n[en]")  # a text no other test compiled
    deploy(ticket_files(unique))
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")
    create_user("wang", password=PASSWORD, roles=["cs_agent"], clock=clock)
    agent = browser_of(app, "wang")
    number = record_call(agent, emergency="false")
    task_id = re.search(r"/tasks/([0-9a-f-]{36})", agent.get(f"/tickets/{number}").get_data(as_text=True)).group(1)
    compiled = []
    compile_template = LimitedSandbox.compile

    def counted(self, source, *args, **kwargs):
        compiled.append(source)
        return compile_template(self, source, *args, **kwargs)

    monkeypatch.setattr(LimitedSandbox, "compile", counted)
    reader = api_as("reader", "cs_agent")

    shown = [reader.get(f"/tasks/{task_id}").json["instructions"] for _ in range(3)]
    assert "<strong>处理时限</strong>：2026-03-03 09:00" in instructions_seen(agent, number)  # the console page too

    assert shown[0].startswith("**处理时限**：2026-03-03 09:00") and shown.count(shown[0]) == 3
    assert len(compiled) == 1, compiled
