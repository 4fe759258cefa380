"""A busy inbox comes in pages of 50, soonest due first, with its count over all of them."""

from __future__ import annotations

import re

from tests.conftest import fixture_files
from tests.web.test_console import browser_of


def task_links(page: str) -> list[str]:
    return re.findall(r'<td class="inbox-task"><a href="/tasks/([^"]+)"', page)


def test_an_inbox_of_fifty_five_tasks_shows_fifty_then_five_and_the_pages_link_both_ways(app, api_as, deploy):
    deploy(fixture_files("five_tasks.bpmn", "five_task.json"))
    agent = api_as("wang", "cs_agent")
    for _ in range(55):
        assert agent.start("five_tasks").status_code == 201
    browser = browser_of(app, "wang")

    first = browser.get("/?scope=group").get_data(as_text=True)
    assert len(task_links(first)) == 50
    assert 'id="page-next"' in first and 'id="page-previous"' not in first
    assert re.search(r'id="tab-group"[^>]*>[^<]*<span[^>]*>55<', first)  # the count is over every page

    second = browser.get("/?scope=group&page=2").get_data(as_text=True)
    assert len(task_links(second)) == 5
    assert 'id="page-previous"' in second and 'id="page-next"' not in second
    assert not set(task_links(first)) & set(task_links(second))

    assert len(task_links(browser.get("/?scope=group&page=oops").get_data(as_text=True))) == 50  # back to page 1
