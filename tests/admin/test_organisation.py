"""Departments, projects (楼盘) and units managed in the browser by admins."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Department, Project, Unit
from app.services.people.organisation import create_project, create_unit
from app.services.people.users import create_user
from tests.web.test_console import Browser

PASSWORD = "secret-pw-1"


@pytest.fixture
def estate(app, clock):
    create_project("lanting", "兰亭苑", city="杭州")
    create_unit("lanting", "3-1202", owner_name="张伟", owner_phone="13800138000")
    for username, roles in (("root", ["admin"]), ("manager", ["property_manager"])):
        create_user(username, password=PASSWORD, roles=roles, clock=clock)


def admin_browser(app, username="root"):
    browser = Browser(app.test_client())
    assert browser.log_in(username, PASSWORD).status_code == 302
    browser.get("/admin/organisation")
    return browser


def fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def test_an_admin_adds_a_department_which_people_can_then_belong_to(app, estate):
    admin = admin_browser(app)
    response = admin.post("/admin/organisation/departments", {"new": "1", "key": "greening", "name_zh": "园林",
                                                              "name_en": "Landscaping"})
    assert response.status_code == 302
    page = admin.get("/admin/organisation").get_data(as_text=True)
    assert 'data-department="greening"' in page
    assert 'value="greening" id="department-greening"' in admin.get("/admin/people/new").get_data(as_text=True)


def test_a_department_is_renamed_and_a_clash_is_refused(app, estate):
    admin = admin_browser(app)
    assert admin.post("/admin/organisation/departments", {"key": "service", "name_zh": "生活服务部",
                                                          "name_en": "Life services"}).status_code == 302
    assert fresh(Department, "service").name_zh == "生活服务部"
    response = admin.post("/admin/organisation/departments", {"key": "sales", "name_zh": "生活服务部",
                                                              "name_en": "Sales"})
    assert response.status_code == 409
    assert fresh(Department, "sales").name_zh != "生活服务部"


def test_a_department_with_a_bad_key_is_refused_and_the_input_kept(app, estate):
    admin = admin_browser(app)
    response = admin.post("/admin/organisation/departments", {"new": "1", "key": "Green Team!", "name_zh": "绿化",
                                                              "name_en": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Green Team!"' in page and 'value="绿化"' in page and "invalid-feedback" in page


def test_a_refusal_speaks_the_admins_language_only(app, estate):
    admin = admin_browser(app)
    refused = {"new": "1", "key": "Green Team!", "name_zh": "绿化", "name_en": ""}
    page = admin.post("/admin/organisation/departments", refused).get_data(as_text=True)
    assert "请更正标记的字段" in page and "1–40 个小写字母" in page
    assert "please correct the marked fields" not in page and "lower-case letters" not in page
    admin.post("/language", {"lang": "en"})
    page = admin.post("/admin/organisation/departments", refused).get_data(as_text=True)
    assert "please correct the marked fields" in page and "lower-case letters" in page
    assert "请更正标记的字段" not in page and "个小写字母" not in page
    assert db.session.scalars(select(Department).where(Department.name_zh == "绿化")).first() is None


def test_an_admin_creates_a_project_and_adds_units(app, estate):
    admin = admin_browser(app)
    response = admin.post("/admin/organisation/projects", {"key": "binjiang", "name": "滨江府", "city": "杭州"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/organisation/projects/binjiang")
    admin.get("/admin/organisation/projects/binjiang")
    response = admin.post("/admin/organisation/projects/binjiang/units", {
        "code": "1-0101", "owner_name": "李娜", "owner_phone": "13900139000", "handover_date": "2024-06-30"})
    assert response.status_code == 302
    unit = db.session.scalars(select(Unit).where(Unit.project_key == "binjiang", Unit.code == "1-0101")).one()
    assert (unit.building, unit.room, unit.owner_name, unit.handover_date) == ("1", "0101", "李娜", date(2024, 6, 30))
    page = admin.get("/admin/organisation/projects/binjiang").get_data(as_text=True)
    assert 'data-unit="1-0101"' in page
    listing = admin.get("/admin/organisation").get_data(as_text=True)
    assert 'data-project="binjiang"' in listing


def test_a_duplicate_project_or_unit_is_a_conflict(app, estate):
    admin = admin_browser(app)
    assert admin.post("/admin/organisation/projects", {"key": "lanting", "name": "又一个"}).status_code == 409
    assert fresh(Project, "lanting").name == "兰亭苑"
    admin.get("/admin/organisation/projects/lanting")
    assert admin.post("/admin/organisation/projects/lanting/units", {"code": "3-1202"}).status_code == 409


def test_a_unit_with_a_wrong_date_or_phone_is_refused_and_the_input_kept(app, estate):
    admin = admin_browser(app)
    admin.get("/admin/organisation/projects/lanting")
    response = admin.post("/admin/organisation/projects/lanting/units", {
        "code": "9-0909", "owner_name": "赵六", "owner_phone": "call me", "handover_date": "30/06/2024"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="9-0909"' in page and 'value="赵六"' in page
    assert db.session.scalars(select(Unit).where(Unit.code == "9-0909")).first() is None


def test_an_admin_changes_a_unit_owner_and_a_project_name(app, estate):
    admin = admin_browser(app)
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "3-1202"))
    admin.get("/admin/organisation/projects/lanting")
    assert admin.post(f"/admin/organisation/units/{unit_id}", {
        "owner_name": "张伟伟", "owner_phone": "13800138001", "handover_date": "2023-01-15",
        "is_common_area": ""}).status_code == 302
    unit = fresh(Unit, unit_id)
    assert (unit.owner_name, unit.owner_phone, unit.handover_date) == ("张伟伟", "13800138001", date(2023, 1, 15))
    assert admin.post("/admin/organisation/projects/lanting", {"name": "兰亭苑二期", "city": ""}).status_code == 302
    assert (fresh(Project, "lanting").name, fresh(Project, "lanting").city) == ("兰亭苑二期", None)


def test_an_owners_email_and_service_contract_end_are_kept_for_planned_callbacks(app, estate):
    admin = admin_browser(app)
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "3-1202"))
    admin.get("/admin/organisation/projects/lanting")
    assert admin.post(f"/admin/organisation/units/{unit_id}", {
        "owner_name": "张伟", "owner_phone": "13800138000", "handover_date": "", "is_common_area": "",
        "owner_email": "zhang@example.com", "contract_end_date": "2026-12-31"}).status_code == 302
    unit = fresh(Unit, unit_id)
    assert (unit.owner_email, unit.contract_end_date) == ("zhang@example.com", date(2026, 12, 31))
    page = admin.get("/admin/organisation/projects/lanting").get_data(as_text=True)
    assert 'value="zhang@example.com"' in page and 'value="2026-12-31"' in page
    refused = admin.post("/admin/organisation/projects/lanting/units", {
        "code": "9-0901", "owner_email": "not-an-address", "contract_end_date": "31/12/2026"})
    assert refused.status_code == 422 and 'value="not-an-address"' in refused.get_data(as_text=True)
    assert admin.post("/admin/organisation/projects/lanting/units", {
        "code": "9-0901", "owner_email": "wang@example.com", "contract_end_date": "2027-06-30"}).status_code == 302
    added = db.session.scalars(select(Unit).where(Unit.code == "9-0901")).one()
    assert (added.owner_email, added.contract_end_date) == ("wang@example.com", date(2027, 6, 30))


def test_units_are_found_by_code_owner_or_phone(app, estate):
    create_unit("lanting", "5-0801", owner_name="王芳")
    admin = admin_browser(app)
    assert 'data-unit="5-0801"' not in admin.get(
        "/admin/organisation/projects/lanting", query_string={"search": "3-"}).get_data(as_text=True)
    found = admin.get("/admin/organisation/projects/lanting", query_string={"search": "王芳"}).get_data(as_text=True)
    assert 'data-unit="5-0801"' in found and 'data-unit="3-1202"' not in found


def test_organisation_pages_are_for_admins_only(app, estate):
    manager = Browser(app.test_client())
    manager.log_in("manager", PASSWORD)
    manager.get("/")
    assert manager.get("/admin/organisation").status_code == 403
    assert manager.get("/admin/organisation/projects/lanting").status_code == 403
    assert manager.post("/admin/organisation/projects", {"key": "x", "name": "X"}).status_code == 403
    assert fresh(Project, "x") is None


def test_an_unknown_project_is_a_404_page(app, estate):
    assert admin_browser(app).get("/admin/organisation/projects/nowhere").status_code == 404
