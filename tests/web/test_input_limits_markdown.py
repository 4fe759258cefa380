"""Ticket text inside a task's instructions is shown as text: what a caller typed never becomes a link or an
image on the task page (issue 13); the designer's own links still work."""

from __future__ import annotations

import pytest

from app.services.people.organisation import create_project, create_unit
from tests.web.test_instructions import browser_of, instructions_seen, ticket_files

INSTRUCTIONS = ("[zh]\n来电内容：{{ description }}\n\n见[处理手册](https://kb.example/repair)\n"
                "[en]\nCall: {{ description }}\n\nSee [the handbook](https://kb.example/repair)")
HOSTILE = ("[点此退款](https://evil.example/pay) ![x](https://evil.example/track.png) <https://evil.example/a> "
           "[ref][1]\n\n[1]: https://evil.example/ref \\[still](https://evil.example/b)")


@pytest.fixture
def agent(app, deploy, api_as):
    deploy(ticket_files(INSTRUCTIONS))
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3-1202")
    return api_as("wang", "cs_agent")


def open_ticket(agent, description: str) -> dict:
    response = agent.post("/tickets", json={"data": {
        "project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000",
        "category": "repair", "description": description}})
    assert response.status_code == 201, response.json
    return response.json


def test_links_and_images_in_a_callers_words_are_shown_as_text(app, agent):
    shown = instructions_seen(browser_of(app, "wang"), open_ticket(agent, HOSTILE)["ticket"]["number"])
    assert "evil.example" in shown  # the words are there ...
    assert 'href="https://evil.example' not in shown and "<img" not in shown  # ... but nothing live
    assert '<a href="https://kb.example/repair">处理手册</a>' in shown  # the designer's own link


def test_the_api_gives_the_callers_words_escaped_in_the_markdown(agent):
    task_id = open_ticket(agent, "[x](https://evil.example)")["instance"]["tasks"][0]["id"]
    assert "来电内容：\\[x\\](https://evil.example)" in agent.get(f"/tasks/{task_id}").json["instructions"]
