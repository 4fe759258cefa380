"""The handover progress page on a desk screen (1280×800, Chromium): the CS supervisor imports a handover batch
from a spreadsheet (one row refused, with its reason), the owner of one unit raises a leak at the inspection, and
the page shows building 3's open defects with the leak counted apart as a 渗漏裂 hot issue and its work order."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import HumanTask
from app.services.work import tasks as task_service
from tests.browser.conftest import BackOffice, Staff
from tests.browser.console import assert_fits_the_screen

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}
BATCH = ("楼栋,房号,业主,电话,交付日期\n"
         "3栋,0101,周先生,13800000101,2026-02-27\n"
         "3栋,0102,吴女士,13800000102,2026-02-27\n"
         "9栋,0101,陈女士,13800000911,2026-02-27\n")
LEAK = {"has_defect": True, "location": "主卫", "part": "kitchen_bathroom_waterproof", "defect_type": "leak",
        "description": "主卫地漏周边漏水到楼下。", "more_defects": False}


def record_the_leak(back_office: BackOffice) -> None:
    """The agent records the owner's leak at the inspection of 3栋-0101 (its first open inspection task)."""
    try:
        task_ids = db.session.scalars(db.select(HumanTask.id).where(
            HumanTask.element_id == "record_defect", HumanTask.state == "open").order_by(HumanTask.instance_id)).all()
        task_service.complete_task(back_office.app.extensions["kefu"], task_ids[0], LEAK,
                                   user=back_office.principal("agent"))
    finally:
        db.session.remove()


def test_the_supervisor_imports_a_batch_and_follows_the_leak_on_the_progress_page(
        staff: Staff, back_office: BackOffice, tmp_path: Path) -> None:
    sheet = tmp_path / "三期交付.csv"
    sheet.write_text(BATCH, encoding="utf-8")
    supervisor = staff("cs_super")
    supervisor.set_viewport_size(DESK)
    supervisor.goto("/handover")
    expect(supervisor.locator("#no-handover")).to_be_visible()

    supervisor.select_option("#import-project", "lanting")
    supervisor.set_input_files("#import-file", str(sheet))
    with supervisor.expect_navigation():
        supervisor.get_by_role("button", name="导入").click()
    expect(supervisor.locator("#import-report")).to_contain_text("已导入 2 行，拒绝 1 行")
    refused = supervisor.locator("#refused-rows tbody tr td")
    expect(refused).to_have_text(["4", "楼盘中没有楼栋 9栋", "9栋", "0101", "陈女士", "13800000911", "2026-02-27"])
    record_the_leak(back_office)

    supervisor.goto("/handover")
    building = supervisor.locator('#handover-progress tr[data-building="3栋"]')
    expect(building.locator('[data-figure="open"]')).to_have_text("1")
    expect(building.locator('[data-figure="hot"]')).to_contain_text("1 个未修好")
    assert_fits_the_screen(supervisor)

    supervisor.get_by_role("link", name="兰亭苑 · 3栋-0101").click()
    defect = supervisor.locator("#unit-defects tbody tr")
    expect(defect).to_contain_text("渗漏")
    expect(defect).to_contain_text("主卫地漏周边漏水到楼下。")
    expect(supervisor.locator("#unit-status")).to_contain_text("维修中")
    assert_fits_the_screen(supervisor)
