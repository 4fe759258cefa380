"""Every task has someone who can do it: when nobody holds a lane's role where the task needs it, the
lane's supervisor sees it as "无人可处理" with the reason, and may do it or hand it over.

The staff of tests/scenarios/conftest.py have no technician in the property department, so an owner-paid
repair (outside the warranty → 物业) is the everyday case.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import update

from app.extensions import db
from app.models import User
from app.services.people.organisation import limit_user_to_projects
from app.services.people.users import deactivate_user
from tests.console_client import Browser
from tests.scenarios.conftest import APPOINTMENT, DISPATCH, HANDED_OVER_6_YEARS_AGO, TECHNICIAN, holder


def browser(app, username: str) -> Browser:
    client = Browser(app.test_client())
    assert client.log_in(username).status_code == 302
    return client


def inbox_row(page: str, task_id: str) -> str:
    """The inbox's row of one task ("" when the task is not listed)."""
    found = re.search(rf'<tr [^>]*data-task="{task_id}">(.*?)</tr>', page, re.S)
    return found.group(1) if found else ""


def user_id(username: str) -> int:
    return db.session.query(User.id).filter(User.username == username).scalar()


def owner_paid_repair(desk):
    ticket = desk.open(unit=HANDED_OVER_6_YEARS_AGO, part="plumbing")  # plumbing, 6 years after handover
    assert desk.ticket(ticket)["department"] == "property"
    return ticket


def test_an_owner_paid_repair_without_a_property_technician_is_marked_and_dispatched_to_engineering(app, desk, staff):
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    supervisor = browser(app, "prop_super")

    row = inbox_row(supervisor.get("/?scope=group").get_data(as_text=True), dispatch["id"])
    assert "无人可处理" in row and "物业无维修人员" in row

    page = supervisor.get(f"/tasks/{dispatch['id']}").get_data(as_text=True)
    assert "物业无维修人员：可从其他部门的人员或本部门责任端口负责人中选择" in page
    assert re.search(r'<optgroup label="工程部 · 维修人员">\s*<option value="other_tech"', page)
    assert f'<option value="{TECHNICIAN}"' in page
    assert re.search(r'<optgroup label="物业 · 责任端口负责人">\s*<option value="prop_owner"', page)

    refused = staff.prop_super.complete(dispatch["id"], {"technician": "nobody_here"})
    assert refused.status_code == 422
    assert refused.json["errors"] == {"technician": "nobody_here 不是您可以选择的维修人员"}
    assert staff.prop_super.complete(dispatch["id"], DISPATCH).status_code == 200

    appointment = desk.handle(staff.tech, ticket, "agree_appointment", APPOINTMENT)
    assert holder(appointment) == ("technician", None, TECHNICIAN)
    assert desk.open_task_names(ticket) == ["inspect_on_site"]


def test_the_console_dispatch_goes_to_the_property_department_owner(app, desk, staff):
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    supervisor = browser(app, "prop_super")
    supervisor.get(f"/tasks/{dispatch['id']}")
    assert supervisor.post(f"/tasks/{dispatch['id']}", {"technician": "prop_owner"}).status_code == 302
    assert holder(desk.task_for(staff.prop_owner, ticket, "agree_appointment")) == ("technician", None, "prop_owner")


def test_a_dispatch_nobody_may_do_goes_to_the_property_manager_who_hands_it_to_an_engineering_supervisor(
        app, desk, staff):
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    deactivate_user(user_id("prop_super"), by=staff_principal(app), now=datetime.now(UTC))
    assert staff.eng_super.complete(dispatch["id"], DISPATCH).status_code == 403  # engineering only

    manager = browser(app, "manager")
    row = inbox_row(manager.get("/?scope=group").get_data(as_text=True), dispatch["id"])
    assert "无人可处理" in row and "物业无工程部主管" in row
    page = manager.get(f"/tasks/{dispatch['id']}").get_data(as_text=True)
    assert 'id="unstaffed"' in page and '<option value="eng_super">' in page

    assert manager.post(f"/tasks/{dispatch['id']}/hand-over", {"username": "eng_super"}).status_code == 302
    assert dispatch["id"] not in manager.get("/?scope=group").get_data(as_text=True)
    handed = desk.task_for(staff.eng_super, ticket, "dispatch_technician")
    assert holder(handed) == ("eng_supervisor", "property", "eng_super")
    assert staff.eng_super.complete(handed["id"], DISPATCH).status_code == 200
    assert desk.open_task_names(ticket) == ["agree_appointment"]


def test_the_supervisor_of_the_lane_may_do_it_through_the_api(app, desk, staff):
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    deactivate_user(user_id("prop_super"), by=staff_principal(app), now=datetime.now(UTC))
    listed = [task["id"] for task in staff.manager.get("/tasks", query_string={"scope": "group"}).json["items"]]
    assert dispatch["id"] in listed
    assert staff.manager.complete(dispatch["id"], DISPATCH).status_code == 200
    assert holder(desk.task_for(staff.tech, ticket, "agree_appointment")) == ("technician", None, TECHNICIAN)


def test_the_admin_list_shows_the_task_until_it_is_handed_over(app, desk, staff, make_user):
    make_user("root", "admin")
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    admin = browser(app, "root")
    assert dispatch["id"] not in admin.get("/admin/unstaffed").get_data(as_text=True)

    deactivate_user(user_id("prop_super"), by=staff_principal(app), now=datetime.now(UTC))
    page = admin.get("/admin/unstaffed").get_data(as_text=True)
    assert "无人可处理的任务" in page
    row = inbox_row(page, dispatch["id"])
    assert ticket.number in row and "物业无工程部主管" in row
    assert f"/admin/instances/{dispatch['instance_id']}" in row

    manager = browser(app, "manager")
    manager.get(f"/tasks/{dispatch['id']}")
    manager.post(f"/tasks/{dispatch['id']}/hand-over", {"username": "eng_super"})
    assert dispatch["id"] not in admin.get("/admin/unstaffed").get_data(as_text=True)


def test_a_supervisor_of_another_project_does_not_see_it(app, desk, staff, make_user):
    make_user("far_manager", "property_manager")
    limit_user_to_projects(user_id("far_manager"), ["binjiang"])
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    deactivate_user(user_id("prop_super"), by=staff_principal(app), now=datetime.now(UTC))

    far = browser(app, "far_manager")
    assert dispatch["id"] not in far.get("/?scope=group").get_data(as_text=True)
    assert far.get(f"/tasks/{dispatch['id']}").status_code == 404
    assert dispatch["id"] in browser(app, "manager").get("/?scope=group").get_data(as_text=True)


def test_a_supervisor_who_is_not_needed_may_not_take_over(app, desk, staff):
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    assert dispatch["id"] not in [t["id"] for t in staff.manager.get("/tasks", query_string={"scope": "group"})
                                  .json["items"]]
    assert staff.manager.complete(dispatch["id"], DISPATCH).status_code == 403


def staff_principal(app):
    from app.services.people.auth import principal_for_user

    return principal_for_user(user_id("manager"))


def statements_of(app, request) -> int:
    """How many SQL statements one request runs."""
    from sqlalchemy import event

    count = 0

    def counted(*_args) -> None:
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        response = request()
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
    assert response.status_code == 200
    return count


def test_the_inbox_runs_as_many_statements_with_tasks_nobody_can_do_as_without(app, desk, staff):
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    manager, supervisor = browser(app, "manager"), browser(app, "prop_super")
    manager.get("/?scope=group")
    supervisor.get("/?scope=group")
    before = statements_of(app, lambda: manager.get("/?scope=group"))
    marked = statements_of(app, lambda: supervisor.get("/?scope=group"))  # its picker is empty: marked

    deactivate_user(user_id("prop_super"), by=staff_principal(app), now=datetime.now(UTC))
    page = manager.get("/?scope=group")
    assert dispatch["id"] in page.get_data(as_text=True)
    assert statements_of(app, lambda: manager.get("/?scope=group")) == before == marked


def test_a_step_assigned_to_a_technician_whose_account_was_disabled_goes_to_the_engineering_supervisor(
        app, desk, staff):
    ticket = desk.open()  # a roof leak two years after handover: engineering, free
    desk.handle(staff.eng_super, ticket, "dispatch_technician", DISPATCH)
    appointment = desk.task_for(staff.tech, ticket, "agree_appointment")
    db.session.execute(update(User).where(User.username == TECHNICIAN).values(is_active=False))  # e.g. a sync
    db.session.commit()

    supervisor = browser(app, "eng_super")
    row = inbox_row(supervisor.get("/?scope=group").get_data(as_text=True), appointment["id"])
    assert "无人可处理" in row and f"指定处理人 {TECHNICIAN} 不存在或已停用" in row
    assert staff.other_tech.complete(appointment["id"], APPOINTMENT).status_code == 403

    supervisor.get(f"/tasks/{appointment['id']}")
    refused = supervisor.post(f"/tasks/{appointment['id']}/hand-over", {"username": "prop_owner"})
    assert refused.status_code == 302 and "/tasks/" in refused.headers["Location"]  # not a technician: stays
    assert supervisor.post(f"/tasks/{appointment['id']}/hand-over", {"username": "other_tech"}).status_code == 302
    assert holder(desk.task_for(staff.other_tech, ticket, "agree_appointment")) == ("technician", None, "other_tech")
    desk.handle(staff.other_tech, ticket, "agree_appointment", APPOINTMENT)
    assert desk.open_task_names(ticket) == ["inspect_on_site"]


def test_the_api_says_whom_the_dispatch_may_name_and_why_nobody_else_may_do_a_task(app, desk, staff):
    ticket = owner_paid_repair(desk)
    dispatch = desk.task_for(staff.prop_super, ticket, "dispatch_technician")
    shown = staff.prop_super.get(f"/tasks/{dispatch['id']}").json
    picker = shown["people"]["technician"]
    assert (picker["role"], picker["reason"]) == ("technician", "物业无维修人员")
    assert {(c["username"], c["group"]) for c in picker["choices"]} == {
        (TECHNICIAN, "工程部 · 维修人员"), ("other_tech", "工程部 · 维修人员"), ("prop_owner", "物业 · 责任端口负责人")}
    assert shown["unstaffed"] is None

    deactivate_user(user_id("prop_super"), by=staff_principal(app), now=datetime.now(UTC))
    assert staff.manager.get(f"/tasks/{dispatch['id']}").json["unstaffed"] == "物业无工程部主管"
