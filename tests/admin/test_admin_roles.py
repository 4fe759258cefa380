"""Role checks on every admin route: nobody outside the admin and manager roles gets in; managers read,
only admins repair or read the personal-data log. A refusal is the Chinese 403 page, never a 500."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Bundle
from tests.admin.instances_support import Browser, Estate, build_estate

OUTSIDERS = ("wang", "tech", "design")  # cs_agent, technician, designer
MANAGERS = ("boss", "chen", "head")  # property_manager, cs_supervisor, dept_head


@pytest.fixture
def estate(app, clock, deploy) -> Estate:
    return build_estate(app, clock, deploy)


def concrete(rule) -> str:
    """A URL for a rule, its parameters filled with harmless values."""
    def fill(match: re.Match) -> str:
        converter = match.group(1) or ""
        if converter.startswith(("int", "float")):
            return "1"
        if converter.startswith("uuid"):
            return "00000000-0000-4000-8000-000000000000"
        if converter.startswith("any("):
            return converter[4:].split(",")[0].strip(" )'\"")
        return "x"
    return re.sub(r"<(?:([^:>]+):)?[^>]+>", fill, rule.rule)


def admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]


def test_every_admin_route_sends_a_visitor_to_log_in(app, estate):
    visitor = Browser(app.test_client())
    for rule in admin_rules(app):
        method = "GET" if "GET" in rule.methods else "POST"
        response = visitor.get(concrete(rule)) if method == "GET" else visitor.post(concrete(rule))
        assert response.status_code == 302 and "/login" in response.headers["Location"], rule.rule


@pytest.mark.parametrize("username", OUTSIDERS)
def test_every_admin_route_refuses_other_roles_with_the_403_page(app, estate, username):
    person = estate.browser(username)
    for rule in admin_rules(app):
        method = "GET" if "GET" in rule.methods else "POST"
        response = person.get(concrete(rule)) if method == "GET" else person.post(concrete(rule))
        assert response.status_code == 403, (rule.rule, response.status_code)
        assert "您无权打开此页面" in response.get_data(as_text=True), rule.rule  # the 403 page's heading


def my_pages(estate: Estate) -> dict[str, str]:
    number = estate.open_ticket()
    instance_id = estate.instance_of(number)
    bundle_id = db.session.scalar(select(Bundle.id).where(Bundle.process_id == "reception"))
    return {
        "list": "/admin/", "export_csv": "/admin/instances/export.csv", "export_xlsx": "/admin/instances/export.xlsx",
        "instance": f"/admin/instances/{instance_id}", "definitions": "/admin/definitions",
        "version": f"/admin/definitions/{bundle_id}",
        "diagram": f"/admin/definitions/{bundle_id}/diagrams/reception.bpmn",
    }


@pytest.mark.parametrize("username", (*MANAGERS, "root"))
def test_managers_and_admins_read_the_instances_and_definitions(estate, username):
    person = estate.browser(username)
    for name, url in my_pages(estate).items():
        assert person.get(url).status_code == 200, name


@pytest.mark.parametrize("username", MANAGERS)
def test_managers_may_not_repair_migrate_or_read_the_access_log(estate, username):
    instance_id = estate.instance_of(estate.open_ticket())
    task_id = estate.open_tasks(instance_id)[0].id
    person = estate.browser(username)
    refused = [
        person.post(f"/admin/instances/{instance_id}/{action}", {"reason": "x"}).status_code
        for action in ("suspend", "resume", "terminate", "retry")
    ] + [
        person.post(f"/admin/instances/{instance_id}/tasks/{task_id}/reassign", {"username": "chen", "reason": "x"})
        .status_code,
        person.post(f"/admin/instances/{instance_id}/tasks/{task_id}/data", {"data": "{}", "reason": "x"}).status_code,
        person.get("/admin/migrate?process_id=reception").status_code,
        person.get("/admin/access-log").status_code,
    ]
    assert refused == [403] * len(refused)
    assert estate.instance(instance_id).status == "running"


def test_admins_see_the_repair_forms_and_the_access_log(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    admin = estate.browser("root")
    page = admin.get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    assert 'id="repair-suspend"' in page and 'id="repair-terminate"' in page and "reassign-form" in page
    assert admin.get("/admin/access-log").status_code == 200
    assert admin.get("/admin/migrate?process_id=reception").status_code == 200
