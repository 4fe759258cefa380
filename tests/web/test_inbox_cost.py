"""What the inbox page costs: both tabs counted in one statement, its statement built once for everyone of the
same roles, and what stays true with it (the counts, a search's wildcards taken as they are typed)."""

from __future__ import annotations

import re

from app.services.work import inbox as inbox_service
from tests.conftest import fixture_files
from tests.support import count_queries
from tests.web.test_console import browser_of, estate, record_call  # noqa: F401 - estate is a fixture


def tab_counts(page: str) -> tuple[int, int]:
    mine, group = (re.search(rf'id="tab-{tab}"[^>]*>[^<]*<span[^>]*>(\d+)<', page) for tab in ("mine", "group"))
    assert mine and group, page
    return int(mine.group(1)), int(group.group(1))


def test_both_tabs_are_counted_in_one_statement(app, api_as, deploy):
    deploy(fixture_files("five_tasks.bpmn", "five_task.json"))
    agent = api_as("wang", "cs_agent")
    for _ in range(3):
        assert agent.start("five_tasks").status_code == 201
    browser = browser_of(app, "wang")
    with count_queries() as statements:
        page = browser.get("/?scope=group").get_data(as_text=True)
    counts = [sql for sql in statements.statements if "count(*)" in sql and "human_tasks" in sql]
    assert len(counts) == 1, statements.statements
    assert tab_counts(page) == (0, 3)

    task_id = re.findall(r'action="/tasks/([^/"]+)/claim"', page)[0]
    assert browser.post(f"/tasks/{task_id}/claim").status_code == 302
    assert tab_counts(browser.get("/?scope=mine").get_data(as_text=True)) == (1, 2)


def test_the_inbox_statement_is_built_once_for_everyone_of_the_same_roles(app, api_as, deploy, monkeypatch):
    deploy(fixture_files("five_tasks.bpmn", "five_task.json"))
    agents = [api_as(name, "cs_agent") for name in ("wang", "li")]
    assert agents[0].start("five_tasks").status_code == 201
    built = []
    column = inbox_service.unstaffed_reason_column
    monkeypatch.setattr(inbox_service, "unstaffed_reason_column", lambda: built.append(1) or column())
    inbox_service._inbox_statement.cache_clear()
    for name in ("wang", "li", "wang"):
        assert len(re.findall(r'data-task="', browser_of(app, name).get("/?scope=group").get_data(as_text=True))) == 1
    assert len(built) == 1


def test_a_search_takes_percent_and_underscore_as_they_are_typed(app, estate):  # noqa: F811
    agent = browser_of(app, "wang")
    number = record_call(agent)  # unit 3-1202

    def found(text):
        return number in agent.get("/", query_string={"scope": "group", "search": text}).get_data(as_text=True)

    assert found("3-12") and found("1202")
    assert not found("3_12") and not found("%") and not found("3-1%")
