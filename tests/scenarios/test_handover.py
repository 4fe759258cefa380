"""Handover defects (收楼遗留问题): the CS supervisor imports a project's handover batch from a spreadsheet on the
handover page, each unit's inspection (the agent's task, here the JSON API) records the defects its owner raises,
each becomes a repair work order inside the warranty counted from the handover date, and the unit's defect list
closes only when every defect is repaired and the owner re-inspects and signs. Leaks, seepage and cracks are
tagged and fast-tracked."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import Workbook

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


def import_batch(app: Flask, name: str, content: bytes) -> Any:
    """The CS supervisor uploads the spreadsheet on the handover page."""
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


def unit_page(app: Flask, code: str) -> str:
    progress = console(app, "supervisor").get("/handover").get_data(as_text=True)
    found = re.search(r'href="(/handover/units/\d+)">[^<]*' + re.escape(code), progress)
    assert found is not None, progress
    return console(app, "supervisor").get(found.group(1)).get_data(as_text=True)


def work_orders(app: Flask, code: str) -> list[str]:
    return list(dict.fromkeys(TICKET_NUMBER.findall(unit_page(app, code))))  # each is linked once per row


def repair_until_done(desk: Desk, number: str) -> None:
    """Engineering dispatches, the technician repairs, the owner accepts, the supervisor confirms."""
    ticket = Opened(number, desk.ticket(number)["instance_id"])
    staff = desk.staff
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    desk.handle(staff.tech, ticket, "inspect_on_site", INSPECTION)
    desk.handle(staff.tech, ticket, "carry_out_repair", REPAIR_DONE)
    desk.handle(staff.tech, ticket, "owner_acceptance", {"owner_accepts": True, "owner_signature": SIGNATURE})
    desk.handle(staff.eng_super, ticket, "confirm_repair", CONFIRMED)


def reinspection(desk: Desk) -> dict[str, Any]:
    listed = desk.staff.agent.get("/tasks", query_string={"scope": "group", "limit": 200}).json["items"]
    tasks = [task for task in listed if task["name"] == "owner_reinspect"]
    assert len(tasks) == 1, tasks
    return tasks[0]


@pytest.fixture
def batch(app: Flask, desk: Desk) -> None:
    response = import_batch(app, "handover.csv", csv_file(BATCH))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "已导入 3 行，拒绝 0 行" in response.get_data(as_text=True)


def test_five_defects_of_three_units_become_five_repair_orders_inside_the_warranty(app, desk, batch):
    assert sorted(inspections(desk)) == ["1栋-0201", "3栋-0101", "3栋-0102"]

    record(desk, "3栋-0101", LEAK, HOLLOW)
    record(desk, "3栋-0102", CRACK, DOOR)
    record(desk, "1栋-0201", FINISH)

    numbers = {code: work_orders(app, code) for code in ("3栋-0101", "3栋-0102", "1栋-0201")}
    assert [len(found) for found in numbers.values()] == [2, 2, 1]
    for number in [number for found in numbers.values() for number in found]:
        ticket = desk.ticket(number)
        assert (ticket["category"], ticket["department"], ticket["stage"]) == ("repair", "engineering", "dispatch")
        order = desk.task_data(desk.staff.eng_super, desk.task_for(
            desk.staff.eng_super, Opened(number, ticket["instance_id"]), "dispatch_technician"))
        assert (order["handover_date"], order["in_warranty"], order["paid_by"]) == (HANDED_OVER, True, "free")
    assert inspections(desk) == {}  # every unit now waits for its re-inspection


def test_a_leak_is_tagged_and_gets_the_shorter_limit(app, desk, batch):
    record(desk, "3栋-0101", LEAK, HOLLOW)

    leak, hollow = work_orders(app, "3栋-0101")
    assert desk.ticket(leak)["due_at"] == (START + timedelta(hours=24)).isoformat()  # urgent repair
    assert desk.ticket(hollow)["due_at"] == (START + timedelta(hours=72)).isoformat()  # normal repair
    assert "【收楼遗留问题·渗漏】主卫" in desk.ticket(leak)["description"]
    page = unit_page(app, "3栋-0101")
    assert page.count('badge text-bg-danger">渗漏<') == 1
    assert "厨卫防水 · 漏水" in page and "装修工程 · 空鼓" in page
    progress = console(app, "supervisor").get("/handover?project=lanting").get_data(as_text=True)
    building = re.search(r'data-building="3栋">(.*?)</tr>', progress, re.S)
    assert building is not None
    assert re.search(r'data-figure="hot">1 <span[^>]*>1 个未修好', building.group(1))


def test_the_defect_list_closes_only_after_the_last_repair_and_the_owners_signature(app, desk, batch):
    record(desk, "3栋-0101", LEAK, HOLLOW)
    leak, hollow = work_orders(app, "3栋-0101")
    signed = {"owner_accepts": True, "owner_signature": SIGNATURE}

    repair_until_done(desk, leak)
    refused = desk.staff.agent.complete(reinspection(desk)["id"], signed)
    assert refused.status_code == 409
    assert hollow in refused.json["message"] and leak not in refused.json["message"]
    assert "维修中" in unit_page(app, "3栋-0101")

    repair_until_done(desk, hollow)
    response = desk.staff.agent.complete(reinspection(desk)["id"], signed)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "completed"
    assert "已关闭（业主已签字）" in unit_page(app, "3栋-0101")


def test_an_owner_who_does_not_accept_raises_the_defect_again_and_it_counts_as_rework(app, desk, batch):
    record(desk, "1栋-0201", FINISH)
    repair_until_done(desk, work_orders(app, "1栋-0201")[0])

    response = desk.staff.agent.complete(reinspection(desk)["id"], {"owner_accepts": False,
                                                                     "refusal_reason": "划痕还在。"})
    assert response.status_code == 200, response.json
    record(desk, "1栋-0201", FINISH)

    assert len(work_orders(app, "1栋-0201")) == 2
    assert unit_page(app, "1栋-0201").count("返工") == 1


def test_an_import_reports_each_refused_row_with_its_reason_and_applies_the_good_ones(app, desk):
    workbook = Workbook()
    sheet = workbook.active
    for row in [HEADER, ["3栋", "0301", "冯先生", "13800000301", HANDED_OVER],
                ["9栋", "0101", "陈女士", "13800000911", HANDED_OVER],
                ["3栋", "0302", "褚先生", "13800000302", "2026-13-40"],
                ["3栋", "0301", "卫女士", "13800000303", HANDED_OVER],
                ["3栋", "0304", "蒋先生", "", HANDED_OVER],
                ["3栋", "0305", "", "13800000305", HANDED_OVER]]:
        sheet.append(row)
    content = io.BytesIO()
    workbook.save(content)

    response = import_batch(app, "第二批.xlsx", content.getvalue())

    assert response.status_code == 200
    report = response.get_data(as_text=True)
    assert "已导入 1 行，拒绝 5 行" in report
    refused = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", report)
    assert refused == [("3", "楼盘中没有楼栋 9栋"), ("4", "交付日期 2026-13-40 无效（应为 2026-03-02 格式）"),
                       ("5", "房号 3栋-0301 重复（第 2 行也有）"), ("6", "缺少业主电话"), ("7", "缺少业主姓名")]
    assert sorted(inspections(desk)) == ["3栋-0301"]


def test_a_file_that_is_not_a_spreadsheet_is_refused_and_nothing_is_imported(app, desk):
    response = import_batch(app, "batch.txt", b"hello")
    assert response.status_code == 400
    assert "请上传 .xlsx 或 .csv 文件" in response.get_data(as_text=True)
    assert inspections(desk) == {}


def test_an_agent_may_follow_the_progress_but_not_import(app, desk, batch):
    agent = console(app, "agent")
    assert agent.get("/handover").status_code == 200
    assert agent.post("/handover/import", {"project": "lanting"}).status_code == 403
    assert console(app, "tech").get("/handover").status_code == 403


@pytest.mark.parametrize("page", ["/admin/dashboard", "/admin/reports/weekly"])
def test_the_dashboard_and_the_weekly_report_count_each_buildings_defects_and_its_hot_issues_apart(
        app, desk, batch, page):
    record(desk, "3栋-0101", LEAK, HOLLOW)
    record(desk, "1栋-0201", FINISH)

    shown = console(app, "manager").get(page).get_data(as_text=True)

    figures = re.search(r'id="handover-figures">(.*?)</table>', shown, re.S)
    assert figures is not None, shown
    cells = {building: re.findall(r'<td class="text-end">([^<]*)</td>', row)
             for building, row in re.findall(r'data-building="([^"]*)"[^>]*>(.*?)</tr>', figures.group(1), re.S)}
    # defects, open, overdue, rework, 渗漏裂 (open), days to close
    assert cells["3栋"] == ["2", "2", "0", "0", "1 (1 个未修好)", "–"]
    assert cells["1栋"] == ["1", "1", "0", "0", "0", "–"]
    assert cells[""] == ["3", "3", "0", "0", "1 (1 个未修好)", "–"]


def test_a_defect_past_its_limit_is_overdue_and_a_closed_unit_counts_its_days_from_handover(app, desk, batch):
    record(desk, "3栋-0101", LEAK)
    record(desk, "1栋-0201", FINISH)
    repair_until_done(desk, work_orders(app, "3栋-0101")[0])
    signed = desk.staff.agent.complete(reinspection_of(desk, "3栋-0101")["id"],
                                       {"owner_accepts": True, "owner_signature": SIGNATURE})
    assert signed.status_code == 200, signed.json

    desk.clock.advance(timedelta(days=15))  # past the 10 working days of an ordinary defect

    progress = console(app, "supervisor").get("/handover").get_data(as_text=True)
    overdue = re.findall(r'data-building="([^"]*)">.*?data-figure="overdue">(\d+)<.*?data-figure="days">([^<]*)<',
                         progress, re.S)
    assert overdue == [("", "1", "3.0"), ("1栋", "1", "–"), ("3栋", "0", "3.0")]  # signed 3 days after handover


def reinspection_of(desk: Desk, unit: str) -> dict[str, Any]:
    listed = desk.staff.agent.get("/tasks", query_string={"scope": "group", "limit": 200}).json["items"]
    found = [task for task in listed if task["name"] == "owner_reinspect"
             and desk.task_data(desk.staff.agent, task)["unit"] == unit]
    assert len(found) == 1, found
    return found[0]
