"""Repairs through HTTP, each with its reason and audit event: suspend, resume, terminate, reassign, edit
data, retry, and migrating instances in bulk with a dry run."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Bundle, HumanTask, Ticket
from tests.admin.instances_support import FIXTURES, NO_CONDITION_FIXED, Estate, build_estate, fail_at_gateway


@pytest.fixture
def estate(app, clock, deploy) -> Estate:
    return build_estate(app, clock, deploy)


@pytest.fixture
def api(client, estate):
    from app.services.people.auth import issue_token
    from app.services.people.users import find_user

    token = issue_token(find_user("wang"), estate.clock)
    return lambda path, data=None: client.post(f"/api/v1{path}", json={"data": data or {}},
                                               headers={"Authorization": f"Bearer {token}"})


def test_suspend_stops_the_instance_and_resume_lets_it_go_on(estate, api):
    instance_id = estate.instance_of(estate.open_ticket())
    task_id = estate.open_tasks(instance_id)[0].id
    admin = estate.browser("root")
    response = admin.post(f"/admin/instances/{instance_id}/suspend", {"reason": "业主要求暂停"})
    assert response.status_code == 302
    assert estate.instance(instance_id).status == "suspended"
    [event] = estate.events(instance_id, "suspended")
    assert event.data["reason"] == "业主要求暂停" and event.actor_id is not None
    assert api(f"/tasks/{task_id}/complete", {"outcome": "resolved"}).status_code == 409

    assert admin.post(f"/admin/instances/{instance_id}/resume", {"reason": "恢复处理"}).status_code == 302
    assert estate.instance(instance_id).status == "running"
    assert estate.events(instance_id, "resumed")[0].data["reason"] == "恢复处理"
    timeline = admin.get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    assert "已挂起" in timeline and "业主要求暂停" in timeline and "已恢复" in timeline
    assert api(f"/tasks/{task_id}/complete", {"outcome": "resolved"}).status_code == 200


def test_a_repair_without_a_reason_is_refused_and_changes_nothing(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    response = estate.browser("root").post(f"/admin/instances/{instance_id}/suspend", {"reason": "  "})
    assert response.status_code == 400
    assert "请填写原因" in response.get_data(as_text=True)
    assert estate.instance(instance_id).status == "running"
    assert estate.events(instance_id, "suspended") == []


def test_resuming_a_running_instance_is_a_conflict(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    response = estate.browser("root").post(f"/admin/instances/{instance_id}/resume", {"reason": "试试"})
    assert response.status_code == 409
    assert estate.events(instance_id, "resumed") == []


def test_terminate_cancels_open_tasks_and_closes_the_ticket(estate):
    number = estate.open_ticket()
    instance_id = estate.instance_of(number)
    response = estate.browser("root").post(f"/admin/instances/{instance_id}/terminate", {"reason": "重复工单"})
    assert response.status_code == 302
    instance = estate.instance(instance_id)
    assert instance.status == "terminated" and instance.ended_at is not None
    assert estate.open_tasks(instance_id) == []
    ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)
                                .execution_options(populate_existing=True)).one()
    assert ticket.closed_at is not None and ticket.outcome == "cancelled"
    assert estate.events(instance_id, "terminated")[0].data["reason"] == "重复工单"


def test_reassign_a_task_to_a_person_then_to_a_role(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    task = estate.open_tasks(instance_id)[0]
    admin = estate.browser("root")
    url = f"/admin/instances/{instance_id}/tasks/{task.id}/reassign"
    assert admin.post(url, {"username": "chen", "reason": "王丽休假"}).status_code == 302
    task = estate.open_tasks(instance_id)[0]
    assert task.assignee == "chen" and task.claimed_by_id is not None
    page = admin.get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    assert re.search(r'class="task-assignee">chen<', page)
    [event] = estate.events(instance_id, "reassigned")
    assert event.data == {"reason": "王丽休假", "from": "cs_agent", "to": "chen"}
    assert f'data-task="{task.id}"' in estate.browser("chen").get("/?scope=mine").get_data(as_text=True)

    assert admin.post(url, {"role": "cs_supervisor", "reason": "交主管"}).status_code == 302
    task = estate.open_tasks(instance_id)[0]
    assert (task.role, task.assignee, task.claimed_by_id) == ("cs_supervisor", None, None)


def test_reassign_refuses_an_unknown_person_and_keeps_what_was_typed(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    task = estate.open_tasks(instance_id)[0]
    response = estate.browser("root").post(f"/admin/instances/{instance_id}/tasks/{task.id}/reassign",
                                           {"username": "nobody", "reason": "换人"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "nobody" in page and 'value="换人"' in page
    assert estate.open_tasks(instance_id)[0].assignee is None


def test_edit_the_data_of_an_open_task_keeps_old_and_new_values_in_the_audit(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    task = estate.open_tasks(instance_id)[0]
    admin = estate.browser("root")
    url = f"/admin/instances/{instance_id}/tasks/{task.id}/data"
    response = admin.post(url, {"data": '{"department": "engineering"}', "reason": "应由工程部处理"})
    assert response.status_code == 302
    from app.services.work.tasks import get_task

    detail = get_task(estate.app.extensions["kefu"], task.id, user=estate.principal("root"))
    assert detail.data["department"] == "engineering"
    [event] = estate.events(instance_id, "data_edited")
    assert event.data["changes"] == {"department": {"from": "property", "to": "engineering"}}
    assert event.data["reason"] == "应由工程部处理"

    refused = admin.post(url, {"data": "{not json", "reason": "再改"})
    assert refused.status_code == 400
    assert "{not json" in refused.get_data(as_text=True)
    unfit = admin.post(url, {"data": '{"outcome": "lost"}', "reason": "再改"})  # not a choice of the form
    assert unfit.status_code == 400 and "数据不符合表单" in unfit.get_data(as_text=True)
    assert len(estate.events(instance_id, "data_edited")) == 1


def test_retry_runs_an_errored_instance_again(estate):
    instance_id = fail_at_gateway(estate)
    admin = estate.browser("root")
    assert admin.post(f"/admin/instances/{instance_id}/retry", {"reason": ""}).status_code == 400
    assert admin.post(f"/admin/instances/{instance_id}/retry", {"reason": "条件已修正"}).status_code == 302
    instance = estate.instance(instance_id)
    assert instance.status == "running" and instance.error is None
    assert estate.events(instance_id, "retried")[0].data["reason"] == "条件已修正"


def _bundle(process_id: str, version: int) -> int:
    return int(db.session.scalar(select(Bundle.id).where(Bundle.process_id == process_id, Bundle.version == version)))


def _without_yes_task(text: str) -> str:
    """The fixed gateway flow with its "yes" task removed: the yes branch ends at once."""
    text = re.sub(r'\s*<bpmn:userTask id="yes_task".*?</bpmn:userTask>', "", text, flags=re.S)
    text = text.replace("<bpmn:flowNodeRef>yes_task</bpmn:flowNodeRef>", "")
    text = text.replace('targetRef="yes_task"', 'targetRef="end_yes"')
    text = re.sub(r'\s*<bpmn:sequenceFlow id="flow_yes_end"[^>]*/>', "", text)
    text = text.replace("<bpmn:incoming>flow_yes_end</bpmn:incoming>", "<bpmn:incoming>flow_yes</bpmn:incoming>")
    text = re.sub(r'\s*<bpmndi:BPMNShape id="yes_task_di".*?</bpmndi:BPMNShape>', "", text, flags=re.S)
    return re.sub(r'\s*<bpmndi:BPMNEdge id="flow_yes_end_di".*?</bpmndi:BPMNEdge>', "", text, flags=re.S)


def test_bulk_migration_dry_run_refuses_an_instance_whose_active_element_is_gone(estate, deploy):
    from app.services.work.tasks import complete_task

    deploy({"no_condition.bpmn": NO_CONDITION_FIXED.encode()})
    waiting = estate.start("no_condition")  # at "choose", which v3 keeps
    advanced = estate.start("no_condition")
    task = estate.open_tasks(advanced)[0]
    complete_task(estate.app.extensions["kefu"], task.id, {"valid": True}, user=estate.principal("root"))
    assert estate.open_tasks(advanced)[0].element_id == "yes_task"  # which v3 removes
    deploy({"no_condition.bpmn": _without_yes_task(NO_CONDITION_FIXED).encode()})
    target = _bundle("no_condition", 3)
    admin = estate.browser("root")
    query = {"process_id": "no_condition", "bundle_id": str(_bundle("no_condition", 2))}
    page = admin.get("/admin/migrate", query_string=query).get_data(as_text=True)
    assert "v3" in page

    dry = admin.post("/admin/migrate", {**query, "target": str(target), "action": "dry_run"})
    page = dry.get_data(as_text=True)
    assert dry.status_code == 200
    assert re.search(rf'data-instance="{waiting}"[^>]*data-can-move="yes"', page)
    assert re.search(rf'data-instance="{advanced}"[^>]*data-can-move="no"', page)
    assert "active element &#39;yes_task&#39; no longer exists" in page
    assert estate.instance(waiting).bundle_id != target  # a dry run changes nothing

    refused = admin.post("/admin/migrate", {**query, "target": str(target), "action": "migrate", "reason": ""})
    assert refused.status_code == 400 and estate.instance(waiting).bundle_id != target

    done = admin.post("/admin/migrate", {**query, "target": str(target), "action": "migrate", "reason": "去掉确认步骤"})
    assert done.status_code == 200
    assert estate.instance(waiting).bundle_id == target
    assert estate.instance(advanced).bundle_id == _bundle("no_condition", 2)
    [event] = estate.events(waiting, "migrated")
    assert event.data == {"reason": "去掉确认步骤", "from_version": 2, "to_version": 3}
    assert estate.events(advanced, "migrated") == []
    # the moved instance runs on the new version: "yes" now ends at once
    task = estate.open_tasks(waiting)[0]
    outcome = complete_task(estate.app.extensions["kefu"], task.id, {"valid": True}, user=estate.principal("root"))
    assert outcome.status == "completed"


def test_an_errored_instance_migrates_onto_a_fixed_version_and_goes_on(estate, deploy):
    instance_id = fail_at_gateway(estate)
    deploy({"no_condition.bpmn": NO_CONDITION_FIXED.encode()})
    admin = estate.browser("root")
    query = {"process_id": "no_condition", "text": str(instance_id)}
    response = admin.post("/admin/migrate", {**query, "target": str(_bundle("no_condition", 2)),
                                             "action": "migrate", "reason": "修正网关条件"})
    assert response.status_code == 200
    instance = estate.instance(instance_id)
    assert instance.status == "running" and instance.error is None
    [task] = estate.open_tasks(instance_id)
    assert task.element_id == "choose"
    db.session.remove()
    assert db.session.get(HumanTask, task.id).state == "open"


def test_managers_may_not_repair(estate):
    instance_id = estate.instance_of(estate.open_ticket())
    manager = estate.browser("boss")
    assert manager.post(f"/admin/instances/{instance_id}/suspend", {"reason": "x"}).status_code == 403
    assert estate.instance(instance_id).status == "running"


CALL_FILES = ("caller.bpmn", "callee.bpmn", "caller_pick.json", "callee_repair.json")


def _callee_with_a_check() -> str:
    """The called process with a second task after the repair."""
    text = (FIXTURES / "callee.bpmn").read_text()
    text = text.replace('<bpmn:sequenceFlow id="flow_repair_end" sourceRef="repair" targetRef="end" />',
                        '<bpmn:sequenceFlow id="flow_repair_end" sourceRef="repair" targetRef="check" />'
                        '<bpmn:sequenceFlow id="flow_check_end" sourceRef="check" targetRef="end" />')
    text = text.replace("<bpmn:flowNodeRef>end</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>check</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>")
    return text.replace('<bpmn:endEvent id="end">\n      <bpmn:incoming>flow_repair_end</bpmn:incoming>',
                        '<bpmn:userTask id="check" name="复核 / Check"><bpmn:incoming>flow_repair_end</bpmn:incoming>'
                        '<bpmn:outgoing>flow_check_end</bpmn:outgoing></bpmn:userTask>'
                        '<bpmn:endEvent id="end">\n      <bpmn:incoming>flow_check_end</bpmn:incoming>')


def _callee_without_the_repair() -> str:
    text = (FIXTURES / "callee.bpmn").read_text()
    text = re.sub(r'\s*<bpmn:userTask id="repair".*?</bpmn:userTask>', "", text, flags=re.S)
    text = text.replace("<bpmn:flowNodeRef>repair</bpmn:flowNodeRef>", "")
    text = text.replace('targetRef="repair"', 'targetRef="end"')
    text = re.sub(r'\s*<bpmn:sequenceFlow id="flow_repair_end"[^>]*/>', "", text)
    text = text.replace("<bpmn:incoming>flow_repair_end</bpmn:incoming>",
                        "<bpmn:incoming>flow_start_repair</bpmn:incoming>")
    text = re.sub(r'\s*<bpmndi:BPMNShape id="repair_di".*?</bpmndi:BPMNShape>', "", text, flags=re.S)
    return re.sub(r'\s*<bpmndi:BPMNEdge id="flow_repair_end_di".*?</bpmndi:BPMNEdge>', "", text, flags=re.S)


def test_an_instance_inside_a_called_process_migrates_when_its_task_still_exists(estate, deploy):
    from app.services.work.tasks import complete_task

    deploy({name: (FIXTURES / name).read_bytes() for name in CALL_FILES})
    rt, root = estate.app.extensions["kefu"], estate.principal("root")
    instance_id = estate.start("caller")
    complete_task(rt, estate.open_tasks(instance_id)[0].id, {"technician": "tech"}, user=root)
    [task] = estate.open_tasks(instance_id)
    assert (task.process_id, task.element_id) == ("callee", "repair")

    deploy({"callee.bpmn": _callee_without_the_repair().encode()})
    admin = estate.browser("root")
    dry = admin.post("/admin/migrate", {"process_id": "caller", "target": str(_bundle("caller", 2)),
                                        "action": "dry_run"}).get_data(as_text=True)
    assert "active element &#39;repair&#39; of &#39;callee&#39; no longer exists" in dry

    deploy({"callee.bpmn": _callee_with_a_check().encode(),
            "callee_repair.json": (FIXTURES / "callee_repair.json").read_bytes()})
    done = admin.post("/admin/migrate", {"process_id": "caller", "target": str(_bundle("caller", 3)),
                                         "action": "migrate", "reason": "加复核"})
    assert re.search(rf'data-instance="{instance_id}"[^>]*data-can-move="yes"', done.get_data(as_text=True))
    [same] = estate.open_tasks(instance_id)
    assert same.id == task.id  # the open task kept its id: links and claims stay valid
    complete_task(rt, task.id, {"hours": 2}, user=root)
    assert [t.element_id for t in estate.open_tasks(instance_id)] == ["check"]  # the new version's step
    page = admin.get(f"/admin/instances/{instance_id}").get_data(as_text=True)
    config = json.loads(html.unescape(re.search(r"data-config='([^']+)'", page).group(1)))
    assert config["calls"] == {"caller": {"call_repair": "callee"}}
    assert config["elements"]["callee"]["check"] == {"completed": 0, "active": 1}
    assert config["elements"]["callee"]["repair"] == {"completed": 1, "active": 0}
    assert config["elements"]["caller"]["call_repair"]["active"] == 1


def test_suspend_resume_and_terminate_keep_the_timer_job_in_step(estate, deploy):
    from app.models.jobs import Job

    deploy({name: (FIXTURES / name).read_bytes() for name in ("timer.bpmn", "timer_reply.json",
                                                               "timer_escalate.json")})
    instance_id = estate.start("timer_demo")

    def timer_job() -> Job | None:
        db.session.expire_all()
        return db.session.scalars(select(Job).where(Job.key == f"timer:{instance_id}")).first()

    due = estate.instance(instance_id).next_timer_at
    assert due is not None and timer_job() is not None
    admin = estate.browser("root")
    admin.post(f"/admin/instances/{instance_id}/suspend", {"reason": "暂停计时"})
    assert timer_job() is None  # a suspended instance's deadline does not fire
    admin.post(f"/admin/instances/{instance_id}/resume", {"reason": "继续"})
    job = timer_job()
    assert job is not None and job.due_at == due
    admin.post(f"/admin/instances/{instance_id}/terminate", {"reason": "作废"})
    assert timer_job() is None


def test_a_migrated_instance_keeps_its_timer_due_time_and_shows_the_new_task_title(estate, deploy, clock):
    from datetime import timedelta

    forms = {name: (FIXTURES / name).read_bytes() for name in ("timer_reply.json", "timer_escalate.json")}
    deploy({"timer.bpmn": (FIXTURES / "timer.bpmn").read_bytes(), **forms})
    instance_id = estate.start("timer_demo")
    due = estate.instance(instance_id).next_timer_at
    clock.advance(timedelta(hours=1))
    renamed = (FIXTURES / "timer.bpmn").read_text().replace("等待回复 / Wait for reply", "等待答复 / Await the reply")
    deploy({"timer.bpmn": renamed.encode(), **forms})
    response = estate.browser("root").post("/admin/migrate", {
        "process_id": "timer_demo", "target": str(_bundle("timer_demo", 2)), "action": "migrate", "reason": "改名"})
    assert re.search(rf'data-instance="{instance_id}"[^>]*data-can-move="yes"', response.get_data(as_text=True))
    instance = estate.instance(instance_id)
    assert instance.bundle_id == _bundle("timer_demo", 2)
    assert instance.next_timer_at == due  # the four hours still count from the start, not from the migration
    assert [task.title for task in estate.open_tasks(instance_id)] == ["等待答复 / Await the reply"]


def test_a_repair_racing_a_step_is_a_conflict_and_writes_nothing(estate, monkeypatch):
    from dataclasses import replace

    from app.services.oversight import repairs

    instance_id = estate.instance_of(estate.open_ticket())
    load = repairs._load
    # the instance as read just before someone completed a step on it
    monkeypatch.setattr(repairs, "_load", lambda wanted: replace(load(wanted), lock_version=0))
    response = estate.browser("root").post(f"/admin/instances/{instance_id}/suspend", {"reason": "暂停"})
    assert response.status_code == 409
    assert estate.instance(instance_id).status == "running"
    assert estate.events(instance_id, "suspended") == []
