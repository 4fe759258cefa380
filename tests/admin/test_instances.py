"""The admin's instance list and instance page through the Flask client."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tests.admin.instances_support import Estate, build_estate, fail_at_gateway


@pytest.fixture
def estate(app, clock, deploy) -> Estate:
    return build_estate(app, clock, deploy)


def listed(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-instance="(\d+)"', page)]


def test_the_list_shows_every_instance_newest_first_with_its_ticket(estate, clock):
    first = estate.open_ticket()
    clock.advance(timedelta(minutes=5))
    second = estate.open_ticket(unit="5-0101", phone="13900139000")
    page = estate.browser("root").get("/admin/").get_data(as_text=True)
    assert listed(page) == [estate.instance_of(second), estate.instance_of(first)]
    assert second in page and "139****9000" in page and "13900139000" not in page


def test_free_text_finds_a_ticket_by_phone_number_unit_prefix_caller_and_number(estate):
    wanted = estate.open_ticket(phone="13900139000", unit="5-0101", caller_name="李女士")
    other = estate.open_ticket()
    admin = estate.browser("root")
    for text in ("13900139000", "5-01", "李女士", wanted.lower()):
        page = admin.get("/admin/", query_string={"text": text}).get_data(as_text=True)
        assert listed(page) == [estate.instance_of(wanted)], text
    assert estate.instance_of(other) not in listed(admin.get("/admin/?text=5-0").get_data(as_text=True))


def test_filters_by_flow_status_stage_department_overdue_and_escalation(estate, clock):
    ticket = estate.open_ticket()
    failed = fail_at_gateway(estate)
    admin = estate.browser("root")

    def ids(**query):
        response = admin.get("/admin/", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return listed(response.get_data(as_text=True))

    assert ids(process_id="no_condition") == [failed]
    assert ids(status="error") == [failed]
    assert ids(status="running") == [estate.instance_of(ticket)]  # a task is ready
    assert ids(status="suspended") == []
    assert ids(stage="handling", department="property") == [estate.instance_of(ticket)]
    assert ids(department="engineering") == []
    assert ids(overdue="1") == []
    clock.advance(timedelta(hours=25))
    admin = estate.browser("root")  # a day later the idle session has ended: the admin signs in again
    assert ids(overdue="1") == [estate.instance_of(ticket)]
    assert ids(escalation_level="0", process_id="reception") == [estate.instance_of(ticket)]
    assert ids(escalation_level="2") == []
    today = clock.now().date().isoformat()
    assert ids(started_to="2026-03-01") == []
    assert set(ids(started_from="2026-03-02", started_to=today)) == {failed, estate.instance_of(ticket)}


def test_filter_by_version_and_by_assignee(estate, deploy):
    from app.extensions import db
    from app.models import Bundle
    from tests.admin.instances_support import NO_CONDITION_FIXED

    old = estate.start("no_condition")
    deploy({"no_condition.bpmn": NO_CONDITION_FIXED.encode()})
    new = estate.start("no_condition")
    versions = dict(db.session.execute(db.select(Bundle.version, Bundle.id).where(
        Bundle.process_id == "no_condition")).all())
    admin = estate.browser("root")
    assert listed(admin.get(f"/admin/?bundle_id={versions[1]}").get_data(as_text=True)) == [old]
    assert listed(admin.get(f"/admin/?bundle_id={versions[2]}").get_data(as_text=True)) == [new]
    task = estate.open_tasks(new)[0]
    response = admin.post(f"/admin/instances/{new}/tasks/{task.id}/reassign",
                          {"username": "chen", "reason": "陈静接手"})
    assert response.status_code == 302
    assert listed(admin.get("/admin/?assignee=chen").get_data(as_text=True)) == [new]


def test_pages_follow_each_other_without_gaps_or_repeats(estate, clock):
    numbers = []
    for _ in range(7):
        numbers.append(estate.open_ticket())
        clock.advance(timedelta(minutes=1))
    from app.services.oversight.instance_search import InstanceFilter, list_instances

    seen, cursor = [], None
    root = estate.principal("root")
    while True:
        page = list_instances(InstanceFilter(sort="oldest"), user=root, now=clock.now(), timezone="Asia/Shanghai",
                              cursor=cursor, limit=3)
        seen += [row.instance_id for row in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [estate.instance_of(number) for number in numbers]
    admin = estate.browser("root")
    first = admin.get("/admin/").get_data(as_text=True)
    assert "next-page" not in first  # seven fit on a page of fifty
    assert admin.get("/admin/?cursor=not-a-cursor").status_code == 400


def test_overdue_pages_follow_each_other_in_both_orders_with_the_other_filters(estate, clock, monkeypatch):
    from app.services.oversight import instance_search as admin_instances
    from app.services.oversight.instance_search import InstanceFilter, list_instances

    monkeypatch.setattr(admin_instances, "OVERDUE_BATCH", 2)  # several batches per page
    monkeypatch.setattr(admin_instances, "OVERDUE_BATCH_MAX", 3)
    numbers = []
    for _ in range(7):
        numbers.append(estate.open_ticket())
        clock.advance(timedelta(minutes=1))
    fail_at_gateway(estate)  # no ticket: never overdue
    clock.advance(timedelta(hours=25))
    fresh = estate.open_ticket()  # open but not yet late
    root = estate.principal("root")

    def walk(**filters):
        seen, cursor = [], None
        while True:
            page = list_instances(InstanceFilter(overdue=True, **filters), user=root, now=clock.now(),
                                  timezone="Asia/Shanghai", cursor=cursor, limit=3)
            seen += [row.instance_id for row in page.rows]
            if not page.next_cursor:
                return seen
            cursor = page.next_cursor

    late = [estate.instance_of(number) for number in numbers]
    assert walk() == late[::-1]
    assert walk(sort="oldest", department="property") == late
    assert walk(status="running", department="property") == late[::-1]
    assert walk(department="engineering") == [] and walk(status="completed") == []
    assert estate.instance_of(fresh) not in walk(sort="oldest")
    admin = estate.browser("root")
    page = admin.get("/admin/?status=running&department=property&overdue=1").get_data(as_text=True)
    assert listed(page) == late[::-1]


def test_a_bad_filter_is_refused_with_the_field_named(estate):
    response = estate.browser("root").get("/admin/?status=lost&started_from=yesterday")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "is-invalid" in page and "one of running" in page


def test_a_filter_is_saved_under_a_name_for_its_owner_only(estate):
    admin = estate.browser("root")
    admin.get("/admin/")
    response = admin.post("/admin/filters", {"name": "逾期物业", "department": "property", "overdue": "1"})
    assert response.status_code == 302
    page = admin.get("/admin/").get_data(as_text=True)
    assert "逾期物业" in page
    assert html.escape("/admin/?department=property&overdue=1") in page or \
        html.escape("/admin/?overdue=1&department=property") in page
    assert "逾期物业" not in estate.browser("boss").get("/admin/").get_data(as_text=True)
    assert admin.post("/admin/filters", {"name": "  "}).status_code == 302
    assert "给筛选命名" not in page  # the refusal is flashed, not stored


def test_the_csv_export_masks_phones_and_is_logged(estate):
    number = estate.open_ticket(phone="13900139000")
    response = estate.browser("boss").get("/admin/instances/export.csv?text=13900139000")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["实例", "工单号", "流程"]
    assert rows[1][1] == number and rows[1][10] == "139****9000" and rows[1][9] == "张先生"
    log = estate.browser("root").get(f"/admin/access-log?ticket={number}").get_data(as_text=True)
    # the action filter lists every action, so look at the rows (data-action) and their user column
    assert 'data-action="export_csv"' in log and '<td class="access-user">boss</td>' in log


def test_the_xlsx_export_shows_full_phones_to_holders_of_the_export_permission(estate):
    number = estate.open_ticket(phone="13900139000", caller_name="=HYPERLINK(\"http://x\")")
    response = estate.browser("pii").get("/admin/instances/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "实例"
    assert values[1][1] == number and values[1][10] == "13900139000"
    assert values[1][9] == "'=HYPERLINK(\"http://x\")"  # a formula typed by a caller stays text
    log = estate.browser("root").get(f"/admin/access-log?ticket={number}").get_data(as_text=True)
    assert 'data-action="export_xlsx"' in log and "导出 XLSX</td>" in log
    assert "<td>完整</td>" in log  # the export showed full numbers


def test_the_instance_page_shows_diagram_marks_tasks_data_and_timeline(estate):
    number = estate.open_ticket()
    instance_id = estate.instance_of(number)
    page = estate.browser("boss").get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    config = json.loads(html.unescape(re.search(r"data-config='([^']+)'", page).group(1)))
    assert config["process_id"] == "reception" and config["processes"] == ["reception"]
    states = config["elements"]["reception"]
    assert states["resolve"] == {"completed": 0, "active": 1}
    assert states["set_deadline"] == {"completed": 1, "active": 0}
    assert "bpmn-navigated-viewer.production.min.js" in page
    assert 'data-element="resolve"' in page  # the open task, with its element
    assert "handling" in page and "厨房漏水" in page  # the current data
    assert 'id="timeline"' in page and "张先生" in page
    assert "repair-suspend" not in page  # a manager reads; only admins repair


def test_the_diagram_file_is_served_for_the_viewer(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    from app.extensions import db
    from app.models import ProcessInstance

    bundle_id = db.session.get(ProcessInstance, instance_id).bundle_id
    admin = estate.browser("root")
    response = admin.get(f"/admin/definitions/{bundle_id}/diagrams/reception.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]  # never run as a page of this site
    assert 'id="resolve"' in response.get_data(as_text=True)
    assert admin.get(f"/admin/definitions/{bundle_id}/diagrams/nothing.bpmn").status_code == 404


def test_an_errored_instance_shows_message_element_and_marks_the_failed_element(estate):
    instance_id = fail_at_gateway(estate)
    page = estate.browser("root").get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    assert 'id="instance-error"' in page
    assert "gw_choose" in re.search(r'id="error-element">([^<]*)<', page).group(1)
    config = json.loads(html.unescape(re.search(r"data-config='([^']+)'", page).group(1)))
    assert config["failed"] == "gw_choose"
    assert "repair-retry" in page


def test_an_unknown_instance_is_a_404_page(estate):
    response = estate.browser("root").get("/admin/instances/999999")
    assert response.status_code == 404
    assert "不存在" in response.get_data(as_text=True)


def test_a_manager_limited_to_one_project_sees_only_its_instances(estate, clock):
    from app.services.people.organisation import create_project, create_unit, limit_user_to_projects
    from app.services.people.users import create_user

    create_project("xixi", "西溪苑")
    create_unit("xixi", "1-101")
    limit_user_to_projects(estate.principal("wang").id, ["lanting", "xixi"])
    ours = estate.open_ticket()
    theirs = estate.open_ticket(project="xixi", unit="1-101", phone="13900139000")
    manager = create_user("lan", password="secret-pw-1", roles=("property_manager",), clock=clock)
    limit_user_to_projects(manager.id, ["lanting"])
    browser = estate.browser("lan")
    assert listed(browser.get("/admin/").get_data(as_text=True)) == [estate.instance_of(ours)]
    assert browser.get(f"/admin/instances/{estate.instance_of(theirs)}").status_code == 404
    export = browser.get("/admin/instances/export.csv").get_data(as_text=True)
    assert ours in export and theirs not in export


def test_a_manager_limited_to_one_project_sees_only_its_overdue_instances(estate, clock):
    from app.services.people.organisation import create_project, create_unit, limit_user_to_projects
    from app.services.people.users import create_user

    create_project("xixi", "西溪苑")
    create_unit("xixi", "1-101")
    ours = estate.open_ticket()
    estate.open_ticket(project="xixi", unit="1-101", phone="13900139000")
    manager = create_user("lan", password="secret-pw-1", roles=("property_manager",), clock=clock)
    limit_user_to_projects(manager.id, ["lanting"])
    clock.advance(timedelta(hours=25))
    for query in ("overdue=1", "overdue=1&sort=oldest", "overdue=1&department=property&status=running"):
        page = estate.browser("lan").get(f"/admin/?{query}").get_data(as_text=True)
        assert listed(page) == [estate.instance_of(ours)], query


def test_the_deadline_sort_lists_tickets_soonest_first_across_pages(estate, clock):
    from app.services.oversight.instance_search import InstanceFilter, list_instances

    later = estate.open_ticket()
    clock.advance(timedelta(hours=1))
    latest = estate.open_ticket()
    fail_at_gateway(estate)  # no ticket, no deadline: not in this sort
    root = estate.principal("root")
    first = list_instances(InstanceFilter(sort="due"), user=root, now=clock.now(), timezone="Asia/Shanghai",
                           limit=1)
    second = list_instances(InstanceFilter(sort="due"), user=root, now=clock.now(), timezone="Asia/Shanghai",
                            cursor=first.next_cursor, limit=1)
    assert [row.ticket_number for row in first.rows + second.rows] == [later, latest]
    assert second.next_cursor is None


def test_a_finished_instance_shows_every_element_it_passed(estate):
    from app.services.work.tasks import complete_task

    number = estate.open_ticket()
    instance_id = estate.instance_of(number)
    task = estate.open_tasks(instance_id)[0]
    complete_task(estate.app.extensions["kefu"], task.id, {"outcome": "resolved"}, user=estate.principal("wang"))
    page = estate.browser("root").get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    config = json.loads(html.unescape(re.search(r"data-config='([^']+)'", page).group(1)))
    assert {element: state["completed"] for element, state in config["elements"]["reception"].items()} == {
        "start": 1, "set_deadline": 1, "resolve": 1, "end": 1}
    assert 'id="repairs"' not in page or "repair-suspend" not in page  # nothing to repair on a finished one
    assert "resolved" in page  # the data it finished with
