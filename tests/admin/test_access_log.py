"""PIPL: every view of a full phone number and every export is logged, and admins can search the log."""

from __future__ import annotations

import pytest

from app.services.people.auth import issue_token
from app.services.people.users import find_user
from tests.admin.instances_support import Estate, build_estate


@pytest.fixture
def estate(app, clock, deploy) -> Estate:
    return build_estate(app, clock, deploy)


def log_rows(estate: Estate, **query) -> str:
    response = estate.browser("root").get("/admin/access-log", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_ticket_page_logs_who_saw_the_full_phone_number(estate):
    number = estate.open_ticket(phone="13900139000")
    page = estate.browser("wang").get(f"/tickets/{number}").get_data(as_text=True)
    assert "13900139000" in page
    log = log_rows(estate, ticket=number)
    assert log.count('data-action="view_phone"') == 1
    assert "wang" in log and "工单页面" in log


def test_a_masked_view_is_not_logged(estate):
    number = estate.open_ticket(phone="13900139000")
    page = estate.browser("tech").get(f"/tickets/{number}").get_data(as_text=True)
    assert "13900139000" not in page
    assert 'data-action="view_phone"' not in log_rows(estate, ticket=number)


def test_the_task_page_and_the_admin_instance_page_log_their_views(estate):
    number = estate.open_ticket(phone="13900139000")
    instance_id = estate.instance_of(number)
    task_id = estate.open_tasks(instance_id)[0].id
    assert estate.browser("wang").get(f"/tasks/{task_id}").status_code == 200
    assert estate.browser("boss").get(f"/admin/instances/{instance_id}").status_code == 200
    log = log_rows(estate, ticket=number)
    assert "任务页面" in log and "管理端实例页面" in log


def test_the_log_is_searched_by_person_ticket_action_and_date(estate, clock):
    first = estate.open_ticket(phone="13900139000")
    second = estate.open_ticket(phone="13700137000")
    estate.browser("wang").get(f"/tickets/{first}")
    estate.browser("chen").get(f"/tickets/{second}")
    estate.browser("boss").get(f"/admin/instances/export.csv?text={second}")
    assert "chen" not in log_rows(estate, username="wang")
    by_ticket = log_rows(estate, ticket=second)
    assert "chen" in by_ticket and "boss" in by_ticket and "wang" not in by_ticket  # an export names its tickets
    exports = log_rows(estate, action="export_csv")
    assert 'data-action="export_csv"' in exports and 'data-action="view_phone"' not in exports
    assert "已打码" in exports  # the export masked the phones
    today = clock.now().date().isoformat()
    assert 'data-action="view_phone"' in log_rows(estate, since=today, until=today)
    assert 'data-action="view_phone"' not in log_rows(estate, until="2026-03-01")
    response = estate.browser("root").get("/admin/access-log?since=not-a-date")
    assert response.status_code == 400


def test_only_admins_read_the_log(estate):
    assert estate.browser("boss").get("/admin/access-log").status_code == 403


def test_a_ticket_read_through_the_api_is_logged_too(estate):
    number = estate.open_ticket(phone="13900139000")
    response = estate.browser("wang").get(f"/api/v1/tickets/{number}")
    assert response.json["phone"] == "13900139000"
    log = log_rows(estate, ticket=number)
    assert log.count('data-action="view_phone"') == 1 and "接口读取工单" in log


def test_recording_a_call_through_the_api_logs_the_phone_its_answer_shows_once(estate):
    token = issue_token(find_user("wang"), estate.clock)
    intake = {"project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13900139000",
              "category": "repair", "description": "厨房漏水"}
    response = estate.app.test_client().post("/api/v1/tickets", json={"data": intake},
                                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json
    assert response.json["ticket"]["phone"] == "13900139000"
    log = log_rows(estate, ticket=response.json["ticket"]["number"])
    assert log.count('data-action="view_phone"') == 1 and "接口读取工单" in log
