"""Handover defects (收楼遗留问题) through the JSON API: the CS supervisor imports a project's handover batch from a
spreadsheet (POST /handover/batches), each unit's inspection (the agent's task) records the defects its owner raises,
each becomes a repair work order inside the warranty counted from the handover date, and the unit's defect list
closes only when every defect is repaired and the owner re-inspects and signs. Leaks, seepage and cracks are
tagged and fast-tracked. The progress per project and building is GET /handover/progress; the console's handover
pages keep the tests of what they show (the badge, the figures' cells, the refused rows' table)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db
from app.models import User
from app.models.jobs import OutboxMessage
from app.services.outreach.planned_callbacks import ensure_planned_callbacks_job
from app.services.people.organisation import limit_user_to_projects
from tests.conftest import Api
from tests.console_client import Browser
from tests.scenarios.conftest import (
    APPOINTMENT,
    CONFIRMED,
    DISPATCH,
    INSPECTION,
    REPAIR_DONE,
    SIGNATURE,
    Desk,
    Opened,
    run_timer_worker,
)
from tests.support.fixtures import START

HANDED_OVER = "2026-02-27"  # the Friday before the clock's Monday
HEADER = ["楼栋", "房号", "业主", "电话", "交付日期"]
BATCH = [["3栋", "0101", "周先生", "13800000101", HANDED_OVER],
         ["3栋", "0102", "吴女士", "13800000102", HANDED_OVER],
         ["1栋", "0201", "郑先生", "13800000201", HANDED_OVER]]
LEAK = {"has_defect": True, "location": "主卫", "part": "kitchen_bathroom_waterproof", "defect_type": "leak",
        "description": "主卫地漏周边漏水到楼下。"}
HOLLOW = {"has_defect": True, "location": "客厅", "part": "decoration", "defect_type": "hollow",
          "description": "客厅地砖空鼓三块。"}
CRACK = {"has_defect": True, "location": "次卧北墙", "part": "decoration", "defect_type": "crack",
         "description": "墙面斜向裂缝约 50 厘米。"}
DOOR = {"has_defect": True, "location": "入户门", "part": "equipment", "defect_type": "door_window",
        "description": "入户门关不严。"}
FINISH = {"has_defect": True, "location": "厨房", "part": "decoration", "defect_type": "finish",
          "description": "橱柜台面有划痕。"}
NO_MORE = {"has_defect": False, "more_defects": False}
TICKET_NUMBER = re.compile(r"KF-\d{8}-\d{4}")


def console(app: Flask, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.log_in(username).status_code == 302
    return browser


def csv_file(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in [HEADER, *rows]).encode("utf-8")


def import_batch(desk: Desk, name: str, content: bytes, *, project: str = "lanting", by: Api | None = None) -> Any:
    """The CS supervisor uploads the spreadsheet (multipart, as a browser or an integration sends it)."""
    form = {"project": project, "file": (io.BytesIO(content), name)}
    return (by or desk.staff.supervisor).post("/handover/batches", data=form, content_type="multipart/form-data")


def console_import(app: Flask, name: str, content: bytes) -> Any:
    """The CS supervisor uploads the spreadsheet on the console's handover page."""
    form = {"project": "lanting", "file": (io.BytesIO(content), name)}
    return console(app, "supervisor").post("/handover/import", form, content_type="multipart/form-data")


def inspections(desk: Desk) -> dict[str, dict[str, Any]]:
    """The agent's open 'record a defect' tasks, by the unit they are for."""
    listed = desk.staff.agent.get("/tasks", query_string={"scope": "group", "limit": 200}).json["items"]
    tasks = [task for task in listed if task["name"] == "record_defect"]
    return {desk.task_data(desk.staff.agent, task)["unit"]: task for task in tasks}


def record(desk: Desk, unit: str, *defects: dict[str, Any]) -> None:
    """The agent records each defect of the unit at its inspection, then says there is no more."""
    for index, defect in enumerate(defects):
        response = desk.staff.agent.complete(inspections(desk)[unit]["id"],
                                             {**defect, "more_defects": index < len(defects) - 1})
        assert response.status_code == 200, response.json


def progress(desk: Desk, **query: str) -> dict[str, Any]:
    response = desk.staff.supervisor.get("/handover/progress", query_string=query)
    assert response.status_code == 200, response.json
    return dict(response.json)


def handed_over(desk: Desk, code: str) -> dict[str, Any]:
    """The unit with its defects (GET /handover/units/<id>), found on the progress list."""
    [unit_id] = [unit["id"] for unit in progress(desk)["units"] if unit["unit"] == code]
    response = desk.staff.supervisor.get(f"/handover/units/{unit_id}")
    assert response.status_code == 200, response.json
    return dict(response.json)


def work_orders(desk: Desk, code: str) -> list[str]:
    return [defect["ticket"] for defect in handed_over(desk, code)["defects"]]


def unit_page(app: Flask, code: str) -> str:
    page = console(app, "supervisor").get("/handover").get_data(as_text=True)
    found = re.search(r'href="(/handover/units/\d+)">[^<]*' + re.escape(code), page)
    assert found is not None, page
    return console(app, "supervisor").get(found.group(1)).get_data(as_text=True)


def figures(desk: Desk, building: str | None, **query: str) -> dict[str, Any]:
    [found] = [row for row in progress(desk, **query)["figures"] if row["building"] == building]
    return found


def repaired_but_not_confirmed(desk: Desk, number: str) -> dict[str, Any]:
    """Dispatched, repaired and accepted by the owner; returns the supervisor's confirmation task."""
    ticket = Opened(number, desk.ticket(number)["instance_id"])
    staff = desk.staff
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, ticket, "owner_acceptance", {"owner_accepts": True, "owner_signature": SIGNATURE})
    return desk.task_for(staff.eng_super, ticket, "confirm_repair")


def repair_until_done(desk: Desk, number: str) -> None:
    """Engineering dispatches, the technician repairs, the owner accepts, the supervisor confirms."""
    repaired_but_not_confirmed(desk, number)
    desk.handle(desk.staff.eng_super, Opened(number, desk.ticket(number)["instance_id"]), "confirm_repair", CONFIRMED)


def reinspections(desk: Desk) -> list[dict[str, Any]]:
    """The owners' re-inspections in the agents' shared list."""
    listed = desk.staff.agent.get("/tasks", query_string={"scope": "group", "limit": 200}).json["items"]
    return [task for task in listed if task["name"] == "owner_reinspect"]


def reinspection(desk: Desk) -> dict[str, Any]:
    listed = desk.staff.agent.get("/tasks", query_string={"scope": "group", "limit": 200}).json["items"]
    tasks = [task for task in listed if task["name"] == "owner_reinspect"]
    assert len(tasks) == 1, tasks
    return tasks[0]


@pytest.fixture
def batch(desk: Desk) -> None:
    response = import_batch(desk, "handover.csv", csv_file(BATCH))
    assert response.status_code == 201, response.json
    assert (response.json["applied"], response.json["refused"]) == (3, [])


def test_five_defects_of_three_units_become_five_repair_orders_inside_the_warranty(desk: Desk, batch: None) -> None:
    assert sorted(inspections(desk)) == ["1栋-0201", "3栋-0101", "3栋-0102"]

    record(desk, "3栋-0101", LEAK, HOLLOW)
    record(desk, "3栋-0102", CRACK, DOOR)
    record(desk, "1栋-0201", FINISH)

    numbers = {code: work_orders(desk, code) for code in ("3栋-0101", "3栋-0102", "1栋-0201")}
    assert [len(found) for found in numbers.values()] == [2, 2, 1]
    for number in [number for found in numbers.values() for number in found]:
        assert TICKET_NUMBER.fullmatch(number)
        ticket = desk.ticket(number)
        assert (ticket["category"], ticket["department"], ticket["stage"]) == ("repair", "engineering", "dispatch")
        order = desk.task_data(desk.staff.eng_super, desk.task_for(
            desk.staff.eng_super, Opened(number, ticket["instance_id"]), "dispatch_technician"))
        assert (order["handover_date"], order["in_warranty"], order["paid_by"]) == (HANDED_OVER, True, "free")
    assert inspections(desk) == {}  # every unit now waits for its re-inspection
    project = figures(desk, None)
    assert (project["units"], project["defects"], project["open"], project["units_closed"]) == (3, 5, 5, 0)


def test_a_leak_is_tagged_and_gets_the_shorter_limit(app: Flask, desk: Desk, batch: None) -> None:
    record(desk, "3栋-0101", LEAK, HOLLOW)

    leak, hollow = handed_over(desk, "3栋-0101")["defects"]
    assert (leak["hot_tag"], hollow["hot_tag"]) == ("渗漏", None)
    assert desk.ticket(leak["ticket"])["due_at"] == (START + timedelta(hours=24)).isoformat()  # urgent repair
    assert desk.ticket(hollow["ticket"])["due_at"] == (START + timedelta(hours=72)).isoformat()  # normal repair
    assert "【收楼遗留问题·渗漏】主卫" in desk.ticket(leak["ticket"])["description"]
    assert (figures(desk, "3栋", project="lanting")["hot"], figures(desk, "3栋", project="lanting")["hot_open"]) \
        == (1, 1)


def test_the_unit_page_and_the_progress_page_show_the_hot_issue(app: Flask, desk: Desk, batch: None) -> None:
    record(desk, "3栋-0101", LEAK, HOLLOW)

    page = unit_page(app, "3栋-0101")
    assert page.count('badge text-bg-danger">渗漏<') == 1
    assert "厨卫防水 · 漏水" in page and "装修工程 · 空鼓" in page
    shown = console(app, "supervisor").get("/handover?project=lanting").get_data(as_text=True)
    building = re.search(r'data-building="3栋">(.*?)</tr>', shown, re.S)
    assert building is not None
    assert re.search(r'data-figure="hot">1 <span[^>]*>1 个未修好', building.group(1))


def test_the_defect_list_closes_only_after_the_last_repair_and_the_owners_signature(desk: Desk, batch: None) -> None:
    record(desk, "3栋-0101", LEAK, HOLLOW)
    leak, hollow = work_orders(desk, "3栋-0101")
    signed = {"owner_accepts": True, "owner_signature": SIGNATURE}
    assert reinspections(desk) == [], "nothing to re-inspect while both are being repaired"

    repair_until_done(desk, leak)
    assert reinspections(desk) == [], "the owner re-inspects only when the hollow tiles are repaired too"
    unit = handed_over(desk, "3栋-0101")
    assert (unit["status"], unit["open"], [d["repaired"] for d in unit["defects"]]) == ("repairing", 1, [True, False])

    repair_until_done(desk, hollow)
    task = reinspection(desk)
    assert "已全部维修完成" in desk.staff.agent.get(f"/tasks/{task['id']}").json["instructions"]
    response = desk.staff.agent.complete(task["id"], signed)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "completed"
    unit = handed_over(desk, "3栋-0101")
    assert (unit["status"], unit["open"]) == ("closed", 0) and unit["signed_at"] is not None


def test_an_owner_who_does_not_accept_raises_the_defect_again_and_it_counts_as_rework(desk: Desk, batch: None) -> None:
    record(desk, "1栋-0201", FINISH)
    repair_until_done(desk, work_orders(desk, "1栋-0201")[0])

    response = desk.staff.agent.complete(reinspection(desk)["id"], {"owner_accepts": False,
                                                                     "refusal_reason": "划痕还在。"})
    assert response.status_code == 200, response.json
    record(desk, "1栋-0201", FINISH)

    defects = handed_over(desk, "1栋-0201")["defects"]
    assert [(defect["round"], defect["rework"]) for defect in defects] == [(1, False), (2, True)]
    assert figures(desk, "1栋")["rework"] == 1


REFUSED_ROWS = [["3栋", "0301", "冯先生", "13800000301", HANDED_OVER],
                ["9栋", "0101", "陈女士", "13800000911", HANDED_OVER],
                ["3栋", "0302", "褚先生", "13800000302", "2026-13-40"],
                ["3栋", "0301", "卫女士", "13800000303", HANDED_OVER],
                ["3栋", "0304", "蒋先生", "", HANDED_OVER],
                ["3栋", "0305", "", "13800000305", HANDED_OVER]]


def xlsx_file(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    content = io.BytesIO()
    workbook.save(content)
    return content.getvalue()


def test_an_import_reports_each_refused_row_with_its_reason_and_applies_the_good_ones(desk: Desk) -> None:
    response = import_batch(desk, "第二批.xlsx", xlsx_file(REFUSED_ROWS))

    assert response.status_code == 201, response.json
    assert response.json["applied"] == 1
    assert [(row["row"], row["reason"]) for row in response.json["refused"]] == [
        (3, "楼盘中没有楼栋 9栋"), (4, "交付日期 2026-13-40 无效（应为 2026-03-02 格式）"),
        (5, "房号 3栋-0301 重复（第 2 行也有）"), (6, "缺少业主电话"), (7, "缺少业主姓名")]
    assert response.json["refused"][0]["values"]["owner_name"] == "陈女士"
    assert sorted(inspections(desk)) == ["3栋-0301"]
    supervisor = desk.staff.supervisor
    with desk.app.app_context():  # a request of its own, as in production (the test's context caches the locale)
        english = supervisor.client.post(
            "/api/v1/handover/batches", content_type="multipart/form-data",
            data={"project": "lanting", "file": (io.BytesIO(xlsx_file(REFUSED_ROWS[1:2])), "b.xlsx")},
            headers={**supervisor.user.headers, "Accept-Language": "en"})
    assert english.status_code == 200, "no good row: nothing imported"
    assert (english.json["batch_id"], english.json["refused"][0]["reason"]) == (None, "unknown building 9栋")


def test_the_console_lists_the_refused_rows(app: Flask, desk: Desk) -> None:
    response = console_import(app, "第二批.xlsx", xlsx_file(REFUSED_ROWS))
    assert response.status_code == 200
    report = response.get_data(as_text=True)
    assert "已导入 1 行，拒绝 5 行" in report
    assert re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", report)[0] == ("3", "楼盘中没有楼栋 9栋")


def test_a_file_that_is_not_a_spreadsheet_is_refused_and_nothing_is_imported(desk: Desk) -> None:
    response = import_batch(desk, "batch.txt", b"hello")
    assert response.status_code == 400
    assert response.json["message"] == "请上传 .xlsx 或 .csv 文件" and "file" in response.json["errors"]
    no_file = desk.staff.supervisor.post("/handover/batches", data={"project": "lanting"},
                                         content_type="multipart/form-data")
    assert no_file.status_code == 400 and list(no_file.json["errors"]) == ["file"]
    assert import_batch(desk, "handover.csv", csv_file(BATCH), project="nowhere").status_code == 404
    assert inspections(desk) == {}


def test_an_agent_may_follow_the_progress_but_not_import(desk: Desk, batch: None) -> None:
    agent = desk.staff.agent
    assert agent.get("/handover/progress").status_code == 200
    assert import_batch(desk, "handover.csv", csv_file(BATCH), by=agent).status_code == 403
    assert desk.staff.tech.get("/handover/progress").status_code == 403
    unit_id = progress(desk)["units"][0]["id"]
    assert desk.staff.tech.get(f"/handover/units/{unit_id}").status_code == 403
    assert agent.get("/handover/units/999999").status_code == 404


def test_staff_of_another_project_see_none_of_its_handover(desk: Desk, batch: None, api_as: Any) -> None:
    outsider = api_as("binjiang_supervisor", "cs_supervisor")
    limit_user_to_projects(db.session.scalars(select(User.id).where(User.username == "binjiang_supervisor")).one(),
                           ["binjiang"])
    unit_id = progress(desk)["units"][0]["id"]
    assert outsider.get(f"/handover/units/{unit_id}").status_code == 404
    assert outsider.get("/handover/progress").json == {"figures": [], "units": []}
    assert import_batch(desk, "more.csv", csv_file([["3栋", "0909", "孙先生", "13800000909", HANDED_OVER]]),
                        by=outsider).status_code == 403


def test_the_console_pages_are_for_the_same_roles(app: Flask, desk: Desk, batch: None) -> None:
    agent = console(app, "agent")
    assert agent.get("/handover").status_code == 200
    assert agent.post("/handover/import", {"project": "lanting"}).status_code == 403
    assert console(app, "tech").get("/handover").status_code == 403


@pytest.mark.parametrize("page", ["/admin/dashboard", "/admin/reports/weekly"])
def test_the_dashboard_and_the_weekly_report_count_each_buildings_defects_and_its_hot_issues_apart(
        app: Flask, desk: Desk, batch: None, page: str) -> None:
    record(desk, "3栋-0101", LEAK, HOLLOW)
    record(desk, "1栋-0201", FINISH)

    shown = console(app, "manager").get(page).get_data(as_text=True)

    found = re.search(r'id="handover-figures">(.*?)</table>', shown, re.S)
    assert found is not None, shown
    cells = {building: re.findall(r'<td class="text-end">([^<]*)</td>', row)
             for building, row in re.findall(r'data-building="([^"]*)"[^>]*>(.*?)</tr>', found.group(1), re.S)}
    # defects, open, overdue, rework, 渗漏裂 (open), days to close
    assert cells["3栋"] == ["2", "2", "0", "0", "1 (1 个未修好)", "–"]
    assert cells["1栋"] == ["1", "1", "0", "0", "0", "–"]
    assert cells[""] == ["3", "3", "0", "0", "1 (1 个未修好)", "–"]


def test_a_defect_past_its_limit_is_overdue_and_a_closed_unit_counts_its_days_from_handover(
        desk: Desk, batch: None) -> None:
    record(desk, "3栋-0101", LEAK)
    record(desk, "1栋-0201", FINISH)
    repair_until_done(desk, work_orders(desk, "3栋-0101")[0])
    signed = desk.staff.agent.complete(reinspection_of(desk, "3栋-0101")["id"],
                                       {"owner_accepts": True, "owner_signature": SIGNATURE})
    assert signed.status_code == 200, signed.json

    desk.clock.advance(timedelta(days=15))  # past the 10 working days of an ordinary defect

    shown = [(row["building"], row["overdue"], row["days_to_close"]) for row in progress(desk)["figures"]]
    assert shown == [(None, 1, 3.0), ("1栋", 1, None), ("3栋", 0, 3.0)]  # signed 3 days after handover
    [overdue] = handed_over(desk, "1栋-0201")["defects"]
    assert overdue["overdue"] is True


def reinspection_of(desk: Desk, unit: str) -> dict[str, Any]:
    listed = desk.staff.agent.get("/tasks", query_string={"scope": "group", "limit": 200}).json["items"]
    found = [task for task in listed if task["name"] == "owner_reinspect"
             and desk.task_data(desk.staff.agent, task)["unit"] == unit]
    assert len(found) == 1, found
    return found[0]


def test_repairs_done_while_the_inspection_is_recorded_let_the_owner_re_inspect_when_it_ends(
        desk: Desk, batch: None) -> None:
    response = desk.staff.agent.complete(inspections(desk)["3栋-0102"]["id"], {**DOOR, "more_defects": True})
    assert response.status_code == 200, response.json
    [door] = work_orders(desk, "3栋-0102")
    repair_until_done(desk, door)  # fixed while the owner was still walking the home
    assert reinspections(desk) == [], "the inspection is still being recorded"

    record(desk, "3栋-0102", NO_MORE)

    assert reinspection_of(desk, "3栋-0102")["name"] == "owner_reinspect"


def test_an_owner_who_raises_no_defect_signs_at_once(desk: Desk, batch: None) -> None:
    record(desk, "1栋-0201", NO_MORE)

    task = reinspection_of(desk, "1栋-0201")
    assert "没有提出问题" in desk.staff.agent.get(f"/tasks/{task['id']}").json["instructions"]
    response = desk.staff.agent.complete(task["id"], {"owner_accepts": True, "owner_signature": SIGNATURE})
    assert response.status_code == 200, response.json
    assert handed_over(desk, "1栋-0201")["status"] == "closed"


def sheet(header: list[str], rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    for row in [header, *rows]:
        workbook.active.append(row)
    content = io.BytesIO()
    workbook.save(content)
    return content.getvalue()


def test_an_import_keeps_the_owners_email_and_contract_end_and_refuses_a_bad_one(
        app: Flask, desk: Desk, clock: ManualClock) -> None:
    header = ["Building", "Room", "Owner", "Phone", "Handover date", "E-mail", "Contract end date"]
    rows = [["3栋", "0401", "冯女士", "13800000401", HANDED_OVER, "feng@example.com", "2026-04-30"],
            ["3栋", "0402", "陈先生", "13800000402", HANDED_OVER, "chen-at-example.com", ""],
            ["3栋", "0403", "褚女士", "13800000403", HANDED_OVER, "", "2026-02-30"],
            ["3栋", "0404", "卫先生", "13800000404", HANDED_OVER, "", ""]]
    response = import_batch(desk, "contacts.xlsx", sheet(header, rows))

    assert response.status_code == 201, response.json
    assert response.json["applied"] == 2
    assert [(row["row"], row["reason"]) for row in response.json["refused"]] == [
        (3, "业主邮箱 chen-at-example.com 不是有效的电子邮箱地址"),
        (4, "物业服务合同到期日 2026-02-30 无效（应为 2026-03-02 格式）")]
    ensure_planned_callbacks_job(now=clock.now(), timezone=app.extensions["kefu"].timezone)
    clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=UTC))  # 08:01 in Shanghai: the daily job plans the contract's call
    run_timer_worker(app)
    plans = desk.staff.supervisor.get("/callback-plans", query_string={"customer_type": "contract_expiring"}).json
    assert [(plan["unit"], plan["due_on"]) for plan in plans["items"]] == [("3栋-0401", "2026-03-31")]
    clock.set(datetime(2026, 3, 31, 0, 1, tzinfo=UTC))
    run_timer_worker(app)
    db.session.remove()
    sent = db.session.scalars(select(OutboxMessage.channel).where(OutboxMessage.recipient == "feng@example.com"))
    assert list(sent) == ["email"], "a contract ending soon is called back by e-mail, to the imported address"


def test_the_contact_columns_may_have_chinese_headers(desk: Desk) -> None:
    header = ["楼栋", "房号", "业主姓名", "手机", "收楼日期", "业主邮箱", "物业服务合同到期日"]
    rows = [["3栋", "0501", "蒋先生", "13800000501", HANDED_OVER, "jiang@", "2027-01-31"]]
    response = import_batch(desk, "联系方式.xlsx", sheet(header, rows))
    assert response.status_code == 200, response.json
    assert [row["reason"] for row in response.json["refused"]] == ["业主邮箱 jiang@ 不是有效的电子邮箱地址"]
