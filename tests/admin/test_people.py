"""People managed in the browser by admins: create, change roles and projects, reset a password, deactivate."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, HumanTask, User
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from tests.web.test_console import Browser

PASSWORD = "secret-pw-1"
TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"


@pytest.fixture
def estate(app, clock):
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    for username, roles in (("root", ["admin"]), ("manager", ["property_manager"]), ("wang", ["cs_agent"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)


def logged_in(app, username, password=PASSWORD):
    browser = Browser(app.test_client())
    response = browser.log_in(username, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def user_named(username):
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).one()


def test_an_admin_creates_a_user_who_can_then_log_in(app, estate):
    admin = logged_in(app, "root")
    admin.get("/admin/people/new")
    response = admin.post("/admin/people/new", {
        "username": "zheng", "display_name": "郑师傅", "password": "new-pass-123", "roles": ["technician"],
        "departments": ["engineering"], "projects": ["lanting"]})
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "郑师傅" in page and "用户 zheng 已创建" in page
    listed = admin.get("/admin/people").get_data(as_text=True)
    assert 'data-user="zheng"' in listed and "维修人员" in listed and "运筹/工程" in listed and "lanting" in listed
    assert logged_in(app, "zheng", "new-pass-123") is not None


def test_a_new_user_with_mistakes_is_refused_field_by_field_and_nothing_typed_is_lost(app, estate):
    admin = logged_in(app, "root")
    admin.get("/admin/people/new")
    response = admin.post("/admin/people/new", {"username": "li si", "display_name": "李四", "password": "short"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="error-username"' in page and 'id="error-password"' in page and 'id="error-roles"' in page
    assert 'value="李四"' in page and 'value="li si"' in page
    assert db.session.scalars(select(User).where(User.display_name == "李四")).first() is None


def test_a_taken_login_is_a_conflict(app, estate):
    admin = logged_in(app, "root")
    admin.get("/admin/people/new")
    response = admin.post("/admin/people/new", {"username": "wang", "display_name": "另一个王",
                                                "password": "long-enough-1", "roles": ["cs_agent"]})
    assert response.status_code == 409
    assert "已存在" in response.get_data(as_text=True)


def test_an_admin_changes_roles_departments_and_projects_together(app, estate):
    admin = logged_in(app, "root")
    wang = user_named("wang")
    admin.get(f"/admin/people/{wang.id}")
    response = admin.post(f"/admin/people/{wang.id}", {"display_name": "王丽", "roles": ["cs_agent", "cs_supervisor"],
                                                       "departments": ["service"], "projects": ["binjiang"]})
    assert response.status_code == 302
    page = admin.get(f"/admin/people/{wang.id}").get_data(as_text=True)
    assert 'value="cs_supervisor" id="role-cs_supervisor" checked' in page
    assert 'value="binjiang" id="project-binjiang" checked' in page
    assert 'value="lanting" id="project-lanting" checked' not in page
    wang = user_named("wang")
    assert (wang.display_name, wang.role_keys, wang.department_keys) == (
        "王丽", frozenset({"cs_agent", "cs_supervisor"}), frozenset({"service"}))


def test_a_reset_password_replaces_the_old_one(app, estate):
    admin = logged_in(app, "root")
    wang = user_named("wang")
    admin.get(f"/admin/people/{wang.id}")
    assert admin.post(f"/admin/people/{wang.id}/password", {"password": "abc"}).status_code == 422
    assert admin.post(f"/admin/people/{wang.id}/password", {"password": "fresh-pass-9"}).status_code == 302
    assert Browser(app.test_client()).log_in("wang", PASSWORD).status_code == 401
    assert logged_in(app, "wang", "fresh-pass-9") is not None


@pytest.fixture
def claimed_task(app, estate, deploy, api_as):
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    create_unit("lanting", "3-1202")
    agent = api_as("liu", "cs_agent")
    opened = agent.post("/tickets", json={"data": {
        "project": "lanting", "unit": "3-1202", "caller_name": "张先生", "phone": "13800138000", "channel": "hotline",
        "category": "repair", "part": "plumbing", "description": "漏水", "urgency": "normal"}}).json
    task_id = opened["instance"]["tasks"][0]["id"]
    assert agent.post(f"/tasks/{task_id}/claim").status_code == 200
    return task_id


def test_deactivating_a_user_hands_their_claimed_tasks_back_to_the_role_with_an_audit_event(app, claimed_task):
    admin = logged_in(app, "root")
    liu = user_named("liu")
    admin.get(f"/admin/people/{liu.id}")
    response = admin.post(f"/admin/people/{liu.id}/deactivate", {"reason": "离职"})
    assert response.status_code == 302
    assert "1 个已认领的任务已退回其角色" in admin.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    task = db.session.get(HumanTask, claimed_task)
    assert (task.claimed_by_id, task.state, task.role) == (None, "open", "cs_agent")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.task_id == claimed_task,
                                                        AuditEvent.action == "task_released")).one()
    assert event.data == {"from": "liu", "to_role": "cs_agent", "reason": "离职", "was": "claimed"}
    assert event.actor_id == user_named("root").id
    assert user_named("liu").is_active is False
    assert Browser(app.test_client()).log_in("liu", PASSWORD).status_code == 401
    # another agent now finds it to claim
    create_user("zhao", password=PASSWORD, roles=["cs_agent"], clock=app.extensions["kefu"].clock)
    assert claimed_task in logged_in(app, "zhao").get("/?scope=group").get_data(as_text=True)


def test_a_deactivated_user_can_be_activated_again(app, estate):
    admin = logged_in(app, "root")
    wang = user_named("wang")
    admin.get(f"/admin/people/{wang.id}")
    admin.post(f"/admin/people/{wang.id}/deactivate")
    assert admin.post(f"/admin/people/{wang.id}/activate").status_code == 302
    assert logged_in(app, "wang") is not None


def test_an_admin_cannot_deactivate_themselves(app, estate):
    admin = logged_in(app, "root")
    root = user_named("root")
    admin.get(f"/admin/people/{root.id}")
    response = admin.post(f"/admin/people/{root.id}/deactivate")
    assert response.status_code == 409
    assert user_named("root").is_active is True


@pytest.mark.parametrize("username", ["manager", "wang"])
def test_people_pages_are_for_admins_only(app, estate, username):
    browser = logged_in(app, username)
    wang = user_named("wang")
    assert browser.get("/admin/people").status_code == 403
    assert browser.get("/admin/people/new").status_code == 403
    assert browser.get(f"/admin/people/{wang.id}").status_code == 403
    assert browser.post(f"/admin/people/{wang.id}/deactivate").status_code == 403
    assert browser.post(f"/admin/people/{wang.id}/password", {"password": "hijacked-99"}).status_code == 403
    assert user_named("wang").is_active is True


def test_a_form_without_its_csrf_token_is_refused(app, estate):
    admin = logged_in(app, "root")
    wang = user_named("wang")
    client = admin.client
    with app.app_context():
        response = client.post(f"/admin/people/{wang.id}/deactivate", data={})
    assert response.status_code == 400
    assert user_named("wang").is_active is True


def test_an_unknown_user_is_a_404_page(app, estate):
    assert logged_in(app, "root").get("/admin/people/999999").status_code == 404


def test_a_task_assigned_by_name_to_a_deactivated_user_goes_back_to_its_role(app, claimed_task, clock):
    create_user("zheng", password=PASSWORD, roles=["cs_agent"], clock=clock)
    task = db.session.get(HumanTask, claimed_task)
    task.claimed_by_id, task.assignee = None, "zheng"  # as a dispatch naming the person would leave it
    db.session.commit()
    admin = logged_in(app, "root")
    zheng = user_named("zheng")
    admin.get(f"/admin/people/{zheng.id}")
    assert admin.post(f"/admin/people/{zheng.id}/deactivate", {"reason": "调岗"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(HumanTask, claimed_task).assignee is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task_released")).one()
    assert event.data["was"] == "assigned"
    assert claimed_task in logged_in(app, "liu").get("/?scope=group").get_data(as_text=True)
