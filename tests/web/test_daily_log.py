"""The daily reception log (每日业户接待情况表) through HTTP: the day's calls of one project in time order, printable
and exported with Chinese headers, and the CS supervisor's daily check recorded on it, once per day and project."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from app.extensions import db
from app.models import AuditEvent
from app.services.people.organisation import limit_user_to_projects
from app.services.people.users import find_user
from tests.console_client import Browser
from tests.web.front_desk import agent_fixture, estate_fixture, open_ticket, person, supervisor_fixture  # noqa: F401 - fixtures

HEADER = ["时间", "工单", "来电人", "电话", "房号", "事项", "类别", "记录人", "跟进部门", "处理结果"]


def exported_csv(browser: Browser, query: str) -> list[list[str]]:
    response = browser.get(f"/reception-log/export.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Chinese as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_log_lists_the_days_calls_of_the_project_in_time_order(agent, supervisor, clock):
    first = open_ticket(agent)
    clock.advance(timedelta(minutes=30))
    agent.post(f"/tickets/{first}/calls", json={"data": {"caller_name": "张太太", "description": "问师傅几点到"}})
    clock.advance(timedelta(minutes=30))
    second = open_ticket(agent, category="consultation", description="物业费怎么交")
    open_ticket(agent, project="binjiang", unit="1-0101", description="滨江府的来电")
    clock.advance(timedelta(days=1))
    open_ticket(agent, description="第二天的来电")
    supervisor.log_in("chen")  # a new day, a new session

    rows = exported_csv(supervisor, "project=lanting&day=2026-03-02")

    assert rows[0] == HEADER
    assert [(row[0], row[1], row[2], row[5]) for row in rows[1:]] == [
        ("09:00", first, "张先生", "厨房水管漏水"), ("09:30", first, "张太太", "问师傅几点到"),
        ("10:00", second, "张先生", "物业费怎么交")]
    assert rows[1][3] == "138****8000"  # phones masked in the log
    assert (rows[1][4], rows[1][6], rows[1][7]) == ("3-1202", "维修", "wang")
    assert rows[2][9] == "重复来电，已合并到原工单"


def test_the_page_shows_the_log_with_print_and_export_buttons(agent, supervisor):
    number = open_ticket(agent)

    page = supervisor.get("/reception-log?project=lanting&day=2026-03-02").get_data(as_text=True)

    assert "每日业户接待情况表" in page and "兰亭苑 · 2026-03-02" in page
    assert number in page and "厨房水管漏水" in page
    assert 'id="log-print"' in page and "reception_log.css" in page
    assert 'href="/reception-log/export.xlsx?day=2026-03-02&amp;project=lanting"' in page


def test_the_xlsx_export_has_chinese_headers_and_keeps_formula_like_text_as_text(agent, supervisor):
    open_ticket(agent, description="=HYPERLINK(\"http://evil\")")

    response = supervisor.get("/reception-log/export.xlsx?project=lanting&day=2026-03-02")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert rows[1][5] == "'=HYPERLINK(\"http://evil\")"


def test_the_supervisor_records_the_days_check_once_and_it_is_audited(agent, supervisor, clock):
    open_ticket(agent)
    supervisor.get("/reception-log?project=lanting&day=2026-03-02")

    response = supervisor.post("/reception-log/check", {"project": "lanting", "day": "2026-03-02",
                                                        "note": "记录完整，3-1202 漏水明早跟进"})

    assert response.status_code == 302
    page = supervisor.get("/reception-log?project=lanting&day=2026-03-02").get_data(as_text=True)
    assert "chen 于 2026-03-02 09:00 已检查。" in page and "3-1202 漏水明早跟进" in page
    assert 'id="check-form"' not in page
    again = supervisor.post("/reception-log/check", {"project": "lanting", "day": "2026-03-02", "note": "再查"})
    assert again.status_code == 409
    assert "当天的接待情况表已检查过" in again.get_data(as_text=True)
    audit = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "front_desk_check")).all()
    assert [(event.data["day"], event.data["project"]) for event in audit] == [("2026-03-02", "lanting")]
    other = supervisor.get("/reception-log?project=binjiang&day=2026-03-02").get_data(as_text=True)
    assert 'id="check-form"' in other  # one check per day and project


def test_a_day_still_to_come_cannot_be_checked_and_the_note_is_kept(supervisor):
    supervisor.get("/reception-log?project=lanting")
    response = supervisor.post("/reception-log/check", {"project": "lanting", "day": "2026-03-03", "note": "提前检查"})
    assert response.status_code == 422
    assert "提前检查" in response.get_data(as_text=True)


def test_a_wrong_date_is_a_clear_400(supervisor):
    response = supervisor.get("/reception-log?project=lanting&day=2026-13-45")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_data(as_text=True)


def test_a_supervisor_limited_to_a_project_cannot_read_anothers_log(agent, app, make_user, estate):
    open_ticket(agent)
    limited = person(app, make_user, "zhao", "cs_supervisor")
    limit_user_to_projects(find_user("zhao").id, ["binjiang"])

    assert limited.get("/reception-log?project=lanting&day=2026-03-02").status_code == 404
    assert limited.get("/reception-log/export.csv?project=lanting&day=2026-03-02").status_code == 404
    assert "滨江府" in limited.get("/reception-log").get_data(as_text=True)  # their own project by default


def test_agents_may_not_open_the_log(app, make_user, estate):
    agent = person(app, make_user, "li", "cs_agent")
    assert agent.get("/reception-log?project=lanting").status_code == 403
    assert agent.get("/reception-log/export.csv?project=lanting").status_code == 403
