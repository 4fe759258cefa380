"""Every spreadsheet the admin downloads keeps a caller's text as text: no cell can start a formula (OWASP
"CSV Injection": = + - @, tab, carriage return, and those behind leading white space or a line break)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from app.services.people.organisation import create_project
from app.services.people.users import create_user
from tests.admin.instances_support import Estate, build_estate
from tests.admin.test_reports import MONDAY_8, browser, make_ticket  # noqa: F401 - make_ticket is a fixture
from tests.console_client import PASSWORD

FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1", " =1+1", "\n=HYPERLINK(\"http://x\")",
            "  \n @SUM(1)", "\r\n-1"]


@pytest.fixture
def estate(app, clock, deploy) -> Estate:
    return build_estate(app, clock, deploy)


def test_the_instance_csv_keeps_every_formula_a_caller_typed_as_text(estate):
    numbers = {estate.open_ticket(caller_name=typed): typed for typed in FORMULAS}
    response = estate.browser("boss").get("/admin/instances/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"), newline="")))
    callers = {row[1]: row[9] for row in rows[1:]}
    assert {number: callers[number] for number in numbers} == {number: "'" + typed
                                                              for number, typed in numbers.items()}


def test_the_instance_xlsx_keeps_every_formula_a_caller_typed_as_text(estate):
    numbers = {estate.open_ticket(caller_name=typed): typed for typed in FORMULAS}
    response = estate.browser("pii").get("/admin/instances/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    callers = {row[1].value: row[9].value for row in sheet.iter_rows(min_row=2)}
    assert {number: callers[number] for number in numbers} == {number: "'" + typed
                                                              for number, typed in numbers.items()}


def test_plain_text_and_numbers_are_exported_as_they_are(estate):
    number = estate.open_ticket(caller_name="张先生 - 3楼")
    response = estate.browser("boss").get("/admin/instances/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[1]: row[9] for row in rows[1:]}[number] == "张先生 - 3楼"


def test_the_weekly_report_csv_keeps_a_formula_as_text(app, clock, make_ticket):  # noqa: F811 - the fixture
    create_project("lanting", "兰亭苑")
    create_user("feng", password=PASSWORD, roles=["property_manager"], clock=clock)
    clock.set(MONDAY_8)
    number = make_ticket(department=" =1+1", stage="\n@SUM(1)", received_at=MONDAY_8)
    response = browser(app, "feng").get("/admin/reports/weekly.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"), newline="")))
    row = {row[1]: row for row in rows[1:]}[number]
    assert (row[0], row[5]) == ("' =1+1", "'\n@SUM(1)")
