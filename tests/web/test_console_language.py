"""The console speaks the reader's language everywhere: form errors, login refusals, repeated calls in the
timeline; and writes every moment the same way, in the business time zone (2026-03-02 09:00)."""

from __future__ import annotations

import re

from tests.web.test_console import browser_of, estate, record_call  # noqa: F401 - estate is a fixture


def field_error(page: str, field: str) -> str:
    found = re.search(rf'data-field="{field}".*?class="invalid-feedback d-block field-error">(.*?)</div>', page, re.S)
    assert found, page
    return found.group(1)


def refused_intake(browser) -> str:
    browser.get("/tickets/new")
    response = browser.post("/tickets/new", {"project": "lanting", "unit": "3-1202", "caller_name": "张先生",
                                             "phone": "12345", "category": "repair", "description": "厨房漏水"})
    assert response.status_code == 422
    return response.get_data(as_text=True)


def test_a_wrong_phone_number_is_explained_in_chinese_not_as_a_regular_expression(app, estate):  # noqa: F811
    page = refused_intake(browser_of(app, "wang"))

    assert field_error(page, "phone") == "格式不正确"
    assert "does not match" not in page and "^1[3-9]" not in page


def test_an_english_reader_gets_the_error_in_english(app, estate):  # noqa: F811
    agent = browser_of(app, "wang")
    agent.post("/language", {"lang": "en", "next": "/"})

    assert field_error(refused_intake(agent), "phone") == "not in the expected format"


def test_a_refused_login_speaks_the_chosen_language_only(app, estate):  # noqa: F811
    visitor = browser_of(app)
    chinese = visitor.log_in("wang", "wrong").get_data(as_text=True)
    assert "用户名或密码错误" in chinese and "wrong username" not in chinese

    visitor.post("/language", {"lang": "en", "next": "/login"})
    english = visitor.log_in("wang", "wrong").get_data(as_text=True)
    assert "wrong username or password" in english and "用户名或密码错误" not in english


def test_times_on_the_ticket_page_are_written_in_business_time(app, estate):  # noqa: F811
    agent = browser_of(app, "wang")
    number = record_call(agent)
    page = agent.get(f"/tickets/{number}").get_data(as_text=True)

    # The clock starts at 2026-03-02 01:00 UTC: 09:00 in Shanghai, written the same way in both languages.
    assert "2026-03-02 09:00" in page and "2026/3/2" not in page
    agent.post("/language", {"lang": "en", "next": "/"})
    english = agent.get(f"/tickets/{number}").get_data(as_text=True)
    assert "2026-03-02 09:00" in english and "9:00 AM" not in english


def test_an_unclaimed_task_on_the_ticket_page_names_its_role_in_the_readers_language(app, estate):  # noqa: F811
    agent = browser_of(app, "wang")
    number = record_call(agent)
    holder = re.compile(r'class="text-muted small task-holder">· (.*?)</span>')

    assert holder.findall(agent.get(f"/tickets/{number}").get_data(as_text=True)) == ["客服专员"]
    agent.post("/language", {"lang": "en", "next": "/"})
    assert holder.findall(agent.get(f"/tickets/{number}").get_data(as_text=True)) == ["Customer-service agent"]


def test_the_ticket_names_its_project_not_its_key(app, estate):  # noqa: F811
    agent = browser_of(app, "wang")
    page = agent.get(f"/tickets/{record_call(agent)}").get_data(as_text=True)

    assert "兰亭苑 · 3-1202" in page and "lanting ·" not in page
    assert "楼盘: 兰亭苑" in page  # the recorded call in the timeline
