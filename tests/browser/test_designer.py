"""A process designer in the browser: the complaint flow changed, checked and deployed, in Chinese.

The diagram is edited with the palette, the context pad, the replace menu and the properties panel;
the test reads the modeler only to find where an element is drawn on the screen.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Bundle
from app.services.people.users import create_user
from tests.browser.conftest import PASSWORD
from tests.browser.console import submit

pytestmark = pytest.mark.browser

VALID_PROPERTY_COMPLAINT = {"withdrawn": False, "valid": True, "responsible_department": "property",
                            "complaint_type": "property_service", "severity": "normal",
                            "judgement_note": "夜间巡逻确有缺失。"}
COMPLAINT = {"category": "complaint", "complaint_type": "property_service", "description": "保安夜里不巡逻。",
             "part": None}

# Where things are on the screen, read from the modeler (the diagram is SVG: no text to click on).
LOCATE = """
window.kefuTest = {
  registry() { return window.kefuModeler.get('elementRegistry'); },
  show(x, y, width, height) { window.kefuModeler.get('canvas').viewbox({ x, y, width, height }); },
  screen(point) {
    const canvas = window.kefuModeler.get('canvas');
    const box = canvas.viewbox();
    const rect = canvas.getContainer().getBoundingClientRect();
    return { x: rect.left + (point.x - box.x) * box.scale, y: rect.top + (point.y - box.y) * box.scale };
  },
  centre(id) {
    const e = this.registry().get(id);
    return this.screen({ x: e.x + e.width / 2, y: e.y + e.height / 2 });
  },
  freeSpot(laneId) {
    const lane = this.registry().get(laneId);
    const y = lane.y + lane.height / 2;
    const busy = this.registry().filter((e) => !e.waypoints && e.type !== 'bpmn:Lane' && e.type !== 'bpmn:Participant'
      && e.type !== 'label' && e.parent);
    const lines = this.registry().filter((e) => e.waypoints);
    for (let x = lane.x + 120; x < lane.x + lane.width - 100; x += 20) {
      const clear = busy.every((e) => e.x > x + 80 || e.x + e.width < x - 80 || e.y > y + 70 || e.y + e.height < y - 70)
        && lines.every((c) => c.waypoints.every((p) => Math.abs(p.x - x) > 80 || Math.abs(p.y - y) > 70));
      if (clear) { return { x, y }; }
    }
    return null;
  },
  point(p) { return this.screen(p); },
  selected() { return window.kefuModeler.get('selection').get().map((e) => e.id); },
  select(id) { window.kefuModeler.get('selection').select(this.registry().get(id)); },
  shapeIds() { return this.registry().filter((e) => !e.waypoints && e.type !== 'label').map((e) => e.id); }
};
"""


@pytest.fixture
def designer_user(app: Flask, estate: None, clock: Any) -> None:
    create_user("designer", password=PASSWORD, roles=("designer",), display_name="林设计", clock=clock)


def versions_of(process_id: str) -> int:
    try:
        return db.session.scalar(select(func.count()).select_from(Bundle).where(Bundle.process_id == process_id))
    finally:
        db.session.remove()


def open_editor(page: Page, name: str) -> None:
    page.goto(f"/designer/files/{name}")
    expect(page.locator("body")).to_have_attribute("data-editor-ready", "true")
    page.evaluate(LOCATE)


def click_at(page: Page, point: dict[str, float]) -> None:
    page.mouse.click(point["x"], point["y"])


def create_task_in_lane(page: Page, lane_id: str, name: str) -> str:
    """Take a task from the palette, drop it on a free spot of the lane, name it; returns its id."""
    spot = page.evaluate(f"kefuTest.freeSpot('{lane_id}')")
    assert spot is not None
    page.evaluate(f"kefuTest.show({spot['x']} - 450, {spot['y']} - 350, 900, 700)")
    before = set(page.evaluate("kefuTest.shapeIds()"))
    page.locator('.djs-palette [data-action="create.task"]').click()
    click_at(page, page.evaluate(f"kefuTest.point({{x: {spot['x']}, y: {spot['y']}}})"))
    [task_id] = set(page.evaluate("kefuTest.shapeIds()")) - before
    page.keyboard.type(name)  # the label editor opens on a new task
    page.keyboard.press("Enter")
    return task_id


def change_type(page: Page, element_id: str, entry: str) -> str:
    """Replace the element through the context pad's "change type" menu; returns the new element's id."""
    page.evaluate(f"kefuTest.select('{element_id}')")
    page.locator('.djs-context-pad [data-action="replace"]').click()
    page.locator(f'.djs-popup [data-id="{entry}"]').click()
    [selected] = page.evaluate("kefuTest.selected()")
    return selected


def connect(page: Page, source: str, target: str) -> None:
    """Draw a sequence flow with the context pad's connect tool."""
    page.evaluate(f"kefuTest.select('{source}')")
    page.locator('.djs-context-pad [data-action="connect"]').click()
    click_at(page, page.evaluate(f"kefuTest.centre('{target}')"))


def open_group(page: Page, group: str) -> None:
    header = page.locator(f'[data-group-id="group-{group}"] > .bio-properties-panel-group-header')
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def test_a_designer_adds_a_supervisor_step_with_a_new_form_and_only_new_complaints_take_it(
        staff, back_office, designer_user):
    before = back_office.open_ticket(**COMPLAINT)  # started on version 1
    page = staff("designer")
    open_editor(page, "complaint.bpmn")

    task_id = create_task_in_lane(page, "lane_cs_supervisor", "主管预审 / Supervisor pre-check")
    task_id = change_type(page, task_id, "replace-with-user-task")
    open_group(page, "kefu")
    expect(page.locator('[data-entry-id="kefu-lane-role"]')).to_have_count(0)  # a task, not a lane
    page.locator("#kefu-new-form-name").fill("complaint_precheck")
    page.locator("#kefu-create-form").click()
    expect(page.locator(".kefu-form-message")).to_contain_text("complaint_precheck.json")
    expect(page.locator('[data-entry-id="kefu-form"] select')).to_have_value("complaint_precheck.json")
    page.locator('[data-entry-id="kefu-instructions"] textarea').fill("请先核实投诉内容：{{ description }}")

    page.evaluate("kefuTest.show(0, 50, 1400, 1450)")  # gw_night clear of the palette
    page.evaluate("kefuTest.select('flow_start_complaint_gw_night')")
    page.locator('.djs-context-pad [data-action="delete"]').click()
    connect(page, "start_complaint", task_id)
    connect(page, task_id, "gw_night")
    page.locator("#save-draft").click()
    expect(page.locator("#designer-status")).to_have_attribute("data-state", "success")

    form_page = staff.pages["designer-form"] = page.context.new_page()  # screenshotted if the test fails
    form_page.goto("/designer/files/complaint_precheck.json")
    expect(form_page.locator("body")).to_have_attribute("data-editor-ready", "true")
    form_page.locator("#new-field-name").fill("precheck_note")
    form_page.locator("#new-field-label").fill("预审意见")
    form_page.locator("#add-field-button").click()
    row = form_page.locator('#field-list tr[data-field="precheck_note"]')
    row.locator(".field-label-en").fill("Pre-check note")
    row.locator(".field-label-en").press("Tab")
    row.locator(".field-required").check()
    expect(form_page.locator('#form-preview label[for="precheck_note"]')).to_contain_text("预审意见")
    expect(form_page.locator('#form-preview label[for="precheck_note"] .text-danger')).to_have_text("*")
    form_page.locator("#save-draft").click()
    expect(form_page.locator("#designer-status")).to_have_attribute("data-state", "success")
    form_page.close()

    page.locator("#deploy").click()
    expect(page.locator("#designer-status")).to_have_attribute("data-state", "success")
    expect(page.locator("#designer-status")).to_contain_text("v2")
    assert versions_of("reception") == 2

    after = back_office.open_ticket(**COMPLAINT)  # started on version 2
    assert back_office.task_id(before, "judge_validity")  # the older complaint goes on as before
    new_step = back_office.task_id(after, task_id)
    supervisor = staff("cs_super")
    supervisor.goto(f"/tasks/{new_step}")
    expect(supervisor.locator("#task-title")).to_have_text("主管预审")
    expect(supervisor.locator("#instructions")).to_contain_text("保安夜里不巡逻。")
    supervisor.locator("#precheck_note").fill("属实，请判断。")
    submit(supervisor)
    assert back_office.task_id(after, "judge_validity")

    page.goto("/designer/processes/reception")
    expect(page.locator('#versions tr[data-version="2"] .deployed-by')).to_have_text("林设计")
    page.locator("#show-diff").click()
    expect(page.locator("body")).to_have_attribute("data-diff-ready", "true")
    complaint = page.locator('.diff-file[data-file="complaint.bpmn"]')
    expect(complaint.locator(f'.djs-element[data-element-id="{task_id}"]').first).to_have_class(
        re.compile(r"\bdiff-added\b"))
    expect(complaint.locator('.djs-element[data-element-id="lane_cs_supervisor"]').first).to_have_class(
        re.compile(r"\bdiff-changed\b"))
    expect(complaint.locator('.diff-change[data-element-id="flow_start_complaint_gw_night"]')).to_have_attribute(
        "data-kind", "removed")
    expect(page.locator('.diff-file[data-file="complaint_precheck.json"]')).to_contain_text("precheck_note")


def test_an_unreachable_task_and_a_broken_condition_are_shown_on_their_elements_and_nothing_is_deployed(
        staff, designer_user):
    page = staff("designer")
    open_editor(page, "complaint.bpmn")
    orphan = create_task_in_lane(page, "lane_cs_supervisor", "孤立步骤 / Orphan")

    page.evaluate("kefuTest.select('flow_gw_reopen_yes')")
    open_group(page, "kefu")
    condition = page.locator('[data-entry-id="kefu-condition"] textarea')
    expect(condition).to_have_value("reopen")
    condition.fill("reopen ==")
    expect(page.locator('[data-entry-id="kefu-condition"] .bio-properties-panel-error')).to_contain_text("语法错误")

    page.locator("#deploy").click()

    expect(page.locator("#designer-status")).to_have_attribute("data-state", "danger")
    for element_id in (orphan, "flow_gw_reopen_yes"):
        expect(page.locator(f'.djs-element[data-element-id="{element_id}"]')).to_have_class(
            re.compile(r"\bkefu-problem\b"))
        expect(page.locator(f'.kefu-problem-badge[data-element-id="{element_id}"]')).to_have_count(1)
    expect(page.locator(f'#problem-list .problem[data-element-id="{orphan}"]')).to_contain_text(
        "不可达：没有顺序流指向这里")
    expect(page.locator('#problem-list .problem[data-element-id="flow_gw_reopen_yes"]')).to_contain_text("条件无法编译")
    assert versions_of("reception") == 1
    page.locator(f'#problem-list .problem[data-element-id="{orphan}"] button').click()
    assert page.evaluate("kefuTest.selected()") == [orphan]


def test_the_editor_speaks_chinese_and_english_on_request(staff, designer_user):
    page = staff("designer")
    open_editor(page, "complaint.bpmn")
    palette = page.locator(".djs-palette")
    expect(palette.locator('[data-action="create.task"]')).to_have_attribute("aria-label", "创建任务")
    expect(palette.locator('[data-action="create.start-event"]')).to_have_attribute("aria-label", "创建开始事件")
    expect(palette.locator('[data-action="create.exclusive-gateway"]')).to_have_attribute("aria-label", "创建网关")
    page.evaluate("kefuTest.select('judge_validity')")
    pad = page.locator(".djs-context-pad")
    expect(pad.locator('[data-action="append.append-task"]')).to_have_attribute("title", "添加任务")
    expect(pad.locator('[data-action="replace"]')).to_have_attribute("title", "更改类型")
    expect(pad.locator('[data-action="delete"]')).to_have_attribute("title", "删除")
    page.evaluate("kefuTest.select('lane_cs_supervisor')")
    open_group(page, "kefu")
    expect(page.locator('[data-entry-id="kefu-lane-role"] label')).to_have_text("泳道角色")
    expect(page.locator('[data-entry-id="kefu-lane-role"] select')).to_have_value("cs_supervisor")
    expect(page.locator(".bio-properties-panel-group-header-title").first).to_have_text("常规")
    page.evaluate("kefuTest.select('complaint_deadline')")
    expect(page.locator('[data-entry-id="kefu-timer-kind"] select')).to_have_value("timeDate")
    timer = page.locator('[data-entry-id="kefu-timer"] textarea')
    expect(timer).to_have_value("due_at")
    timer.fill('"3 days"')
    expect(page.locator('[data-entry-id="kefu-timer"] .bio-properties-panel-error')).to_contain_text("ISO 8601")
    timer.fill('"2026-03-05T09:00:00+08:00"')
    expect(page.locator('[data-entry-id="kefu-timer"] .bio-properties-panel-error')).to_have_count(0)
    page.evaluate("kefuTest.select('Participant_complaint')")
    start_roles = page.locator('[data-entry-id="kefu-start-roles"]')
    start_roles.locator("input").fill("cs_agent, 保安")
    expect(start_roles.locator(".bio-properties-panel-error")).to_have_text("未知角色：保安")
    start_roles.locator("input").fill("cs_agent, 中控室保安")
    expect(start_roles.locator(".bio-properties-panel-error")).to_have_count(0)

    with page.expect_navigation():
        page.locator("#switch-language").click()
    expect(page.locator("body")).to_have_attribute("data-editor-ready", "true")
    expect(page.locator('.djs-palette [data-action="create.task"]')).to_have_attribute("aria-label", "Create task")
    expect(page.locator("#save-draft")).to_have_text("Save draft")


def test_the_editor_keeps_everything_the_engine_reads_in_the_shipped_diagrams(staff, designer_user):
    from app.engine.diff import diff_files
    from tests.browser.conftest import ROOT

    page = staff("designer")
    for name in ("reception.bpmn", "complaint.bpmn", "repair.bpmn", "callback.bpmn"):
        open_editor(page, name)
        saved = page.evaluate("window.kefuModeler.saveXML({ format: true }).then((r) => r.xml)")
        original = (ROOT / "bpmn" / name).read_text(encoding="utf-8")
        assert diff_files({name: original}, {name: saved})[0].changes == (), name


def edit_cell(page: Page, cell: Any, text: str) -> None:
    """Type into a decision-table cell, replacing what it held."""
    cell.locator("[contenteditable]").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    expect(cell.locator("[contenteditable]").first).to_have_text(text)


def test_a_designer_shortens_a_deadline_in_the_decision_table_and_new_complaints_get_it(
        staff, back_office, designer_user, clock):
    page = staff("designer")
    page.goto("/designer/files/complaint_time_limits.dmn")
    expect(page.locator("body")).to_have_attribute("data-editor-ready", "true")
    expect(page.locator(".tjs-container")).to_contain_text("命中策略")  # the table editor speaks Chinese too
    test_cell = page.locator('td[data-row-id="Rule_property_service"][data-col-id="Input_complaint_type"]')
    edit_cell(page, test_cell, 'in ("property_service")')  # SpiffWorkflow would glue this to the input

    page.locator("#deploy").click()

    expect(page.locator("#designer-status")).to_have_attribute("data-state", "danger")
    expect(page.locator('#problem-list .problem[data-element-id="Rule_property_service"]')).to_contain_text(
        "输入单元格“in (\"property_service\")”无法正确运行")
    expect(test_cell).to_have_css("background-color", "rgb(248, 215, 218)")  # the rule is tinted
    assert versions_of("reception") == 1

    edit_cell(page, test_cell, '"property_service"')
    cell = page.locator('td[data-row-id="Rule_property_service"][data-col-id="Output_limit_amount"]')
    expect(cell).to_have_text("72")
    edit_cell(page, cell, "48")
    page.locator("#deploy").click()

    expect(page.locator("#designer-status")).to_have_attribute("data-state", "success")
    assert versions_of("reception") == 2
    page.goto("/designer/processes/reception/diff?old=1&new=2")
    expect(page.locator('.diff-change[data-element-id="Rule_property_service"]')).to_have_attribute(
        "data-kind", "changed")
    expect(page.locator(".diff-change")).to_have_count(1)

    number = back_office.open_ticket(**COMPLAINT)
    back_office.complete(number, "judge_validity", "agent", VALID_PROPERTY_COMPLAINT)
    agent = staff("agent")
    agent.goto(f"/tickets/{number}")
    due = (clock.now() + timedelta(hours=48)).astimezone(ZoneInfo("Asia/Shanghai"))  # 72 h before the change
    expect(agent.locator("main")).to_contain_text(f"时限{due:%Y-%m-%d %H:%M}")


def test_a_camunda_modeler_diagram_is_imported_shown_and_its_unsupported_parts_named_on_deploy(staff, designer_user):
    from tests.designer.conftest import DESIGNER_FIXTURES

    page = staff("designer")
    page.goto("/designer/")
    page.locator("#import-files").set_input_files(str(DESIGNER_FIXTURES / "camunda_repair_request.bpmn"))
    with page.expect_navigation():
        page.locator("#import-submit").click()
    expect(page.locator("body")).to_have_attribute("data-editor-ready", "true")
    expect(page.locator("#designer-file")).to_have_text("camunda_repair_request.bpmn")
    expect(page.locator('.djs-element[data-element-id="Activity_review"]')).to_be_visible()

    page.locator("#deploy").click()

    expect(page.locator("#designer-status")).to_have_attribute("data-state", "danger")
    review = page.locator('#problem-list .problem[data-element-id="Activity_review"]')
    expect(review.filter(has_text="formKey 是 Camunda 7 的设置，本系统不支持：请改为选择表单")).to_have_count(1)
    expect(review.filter(has_text="人工任务不在任何泳道中")).to_have_count(1)
    expect(page.locator('.kefu-problem-badge[data-element-id="Activity_notify"]')).to_have_count(1)
    expect(page.locator('.kefu-problem-badge[data-element-id="Flow_yes"]')).to_have_count(1)
    assert versions_of("Process_repair_request") == 0


def test_a_designer_adds_a_choice_and_relabels_a_field_without_touching_json(staff, designer_user):
    page = staff("designer")
    page.goto("/designer/files/complaint_classify.json")
    expect(page.locator("body")).to_have_attribute("data-preview-ready", "true")
    row = page.locator('#field-list tr[data-field="hot_spot"]')
    choices = row.locator(".field-choices")
    choices.fill(choices.input_value() + "\nlift=电梯 / Lift")
    choices.press("Tab")
    expect(page.locator('#form-preview select#hot_spot option[value="lift"]')).to_have_text("电梯")
    row.locator(".field-label-zh").fill("投诉热点")
    row.locator(".field-label-zh").press("Tab")
    expect(page.locator('#form-preview label[for="hot_spot"]')).to_contain_text("投诉热点")
    assert '"title": "投诉热点 / ' in page.locator("#schema-text").input_value()
    page.locator("#new-field-name").fill("checked_by")
    page.locator("#new-field-label").fill("核对人")
    page.locator("#new-field-type").select_option("user")
    page.locator("#add-field-button").click()
    page.locator('#field-list tr[data-field="checked_by"] .field-role').select_option("cs_supervisor")
    expect(page.locator("#form-preview select#checked_by")).to_contain_text("陈静")  # the people of the role
    expect(page.locator("#schema-errors")).to_have_attribute("data-state", "valid")

    page.locator("#deploy").click()

    expect(page.locator("#designer-status")).to_have_attribute("data-state", "success")
    assert versions_of("reception") == 2
    page.locator("#schema-text").fill('{"type": "object", "properties": {"note": {"type": "strin"}}}')
    expect(page.locator("#schema-errors")).to_have_attribute("data-state", "invalid")
    expect(page.locator("#schema-errors .schema-error").first).to_contain_text("properties/note/type")
