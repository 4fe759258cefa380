"""The designer through HTTP: drafts, deploy and refusal, versions and their diff, rollback, import, hostile XML."""

from __future__ import annotations

import json
import re

import pytest
from lxml import etree
from sqlalchemy import func, select

from app.extensions import db
from app.models.designer import DesignerDraft
from tests.conftest import Api, ApiUser
from tests.designer.conftest import bundle_count, designer_fixture, text_of

NEW_FORM = json.dumps({
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "复核 / Review", "type": "object",
    "properties": {"review_note": {"type": "string", "title": "复核意见 / Review note"}},
    "required": ["review_note"],
}, ensure_ascii=False)


def lanes_with_review_task() -> str:
    """lanes.bpmn with a new user task "review" (form lanes_review.json) between record and handle,
    and the handle task renamed — what the editor sends after a designer's changes."""
    text = text_of("lanes.bpmn")
    handle_ref = "<bpmn:flowNodeRef>handle</bpmn:flowNodeRef>"
    text = text.replace(handle_ref, f"<bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n        {handle_ref}")
    text = text.replace('<bpmn:sequenceFlow id="flow_record_handle" sourceRef="record" targetRef="handle" />',
                        '<bpmn:sequenceFlow id="flow_record_handle" sourceRef="record" targetRef="review" />\n'
                        '    <bpmn:sequenceFlow id="flow_review_handle" sourceRef="review" targetRef="handle" />')
    text = text.replace('<bpmn:userTask id="handle" name="处理 / Handle">', """\
    <bpmn:userTask id="review" name="复核 / Review">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="lanes_review.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_record_handle</bpmn:incoming>
      <bpmn:outgoing>flow_review_handle</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="handle" name="办理 / Carry out">""")
    return text.replace("<bpmn:incoming>flow_record_handle</bpmn:incoming>\n      <bpmn:outgoing>flow_handle_end",
                        "<bpmn:incoming>flow_review_handle</bpmn:incoming>\n      <bpmn:outgoing>flow_handle_end")


def broken_lanes() -> str:
    """lanes.bpmn with an unreachable task and a condition that does not compile."""
    text = text_of("lanes.bpmn")
    text = text.replace('<bpmn:flowNodeRef>end</bpmn:flowNodeRef>',
                        '<bpmn:flowNodeRef>end</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>orphan</bpmn:flowNodeRef>')
    text = text.replace('<bpmn:endEvent id="end">', '<bpmn:userTask id="orphan" name="孤立 / Orphan" />\n'
                        '    <bpmn:endEvent id="end">')
    return text.replace('<bpmn:sequenceFlow id="flow_handle_end" sourceRef="handle" targetRef="end" />',
                        '<bpmn:sequenceFlow id="flow_handle_end" sourceRef="handle" targetRef="end">'
                        '<bpmn:conditionExpression>summary ==</bpmn:conditionExpression></bpmn:sequenceFlow>')


def save(designer, name: str, content: str):
    return designer.post_json(f"/designer/files/{name}/draft", {"content": content})


def deploy_drafts(designer):
    return designer.post_json("/designer/deploy", {})


@pytest.fixture
def api(app, client, make_user, people) -> Api:
    from app.services.people.auth import issue_token
    from app.services.people.users import find_user

    def of(username: str) -> Api:
        user = find_user(username)
        return Api(client, ApiUser(username, issue_token(user, app.extensions["kefu"].clock)))
    return of


def test_only_designers_and_admins_open_the_designer(app, console_of, lanes_v1):
    agent = console_of("wang")
    for path in ("/designer/", "/designer/files/lanes.bpmn", "/designer/processes/lanes_demo"):
        response = agent.get(path)
        assert response.status_code == 403
    assert agent.post_json("/designer/deploy", {}).status_code == 403
    assert save(agent, "lanes.bpmn", text_of("lanes.bpmn")).status_code == 403
    for username in ("lin", "root"):
        page = console_of(username).get("/designer/")
        assert page.status_code == 200
        assert "lanes.bpmn" in page.get_data(as_text=True)
    assert app.test_client().get("/designer/").status_code == 302  # to the login page


def test_the_json_endpoints_need_the_csrf_token(designer, lanes_v1):
    with designer.client.application.app_context():
        refused = designer.client.post("/designer/files/lanes.bpmn/draft", json={"content": text_of("lanes.bpmn")})
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(DesignerDraft)) == 0


def test_the_editor_opens_a_deployed_diagram_with_the_roles_and_forms_to_choose_from(designer, lanes_v1):
    page = designer.get("/designer/files/lanes.bpmn").get_data(as_text=True)
    config = designer_config(designer, "lanes.bpmn")
    assert config["content"] == text_of("lanes.bpmn")
    assert {"key": "cs_supervisor", "name": "客服主管"} in config["roles"]
    assert {"lanes_record.json", "lanes_handle.json"} <= set(config["forms"])
    assert "vendor/designer/editor.js" in page
    assert "检查并部署" in page and "同事的草稿仍保留为草稿" in page


def test_a_draft_is_saved_with_its_problems_and_changes_nothing_deployed(designer, api, lanes_v1):
    response = save(designer, "lanes.bpmn", text_of("lanes.bpmn").replace('name="dept_owner"', 'name="前台经理"'))
    assert response.status_code == 200
    assert {"file": "lanes.bpmn", "element_id": "lane_dept_owner", "message": "lane '前台经理' names no known role",
            "text": "泳道“前台经理”不是已知角色"} in response.json["problems"]
    assert "前台经理" in designer.get("/designer/files/lanes.bpmn/download").get_data(as_text=True)
    assert "lin-name 保存于 2026-03-02 09:00" in designer.get("/designer/files/lanes.bpmn").get_data(as_text=True)
    assert bundle_count() == 1
    assert {item["id"]: item["version"] for item in api("root").get("/processes").json["items"]} == {"lanes_demo": 1}


def test_deploying_makes_version_2_while_a_running_instance_keeps_version_1(designer, api, lanes_v1):
    agent = api("wang")
    before = agent.start("lanes_demo").json
    assert save(designer, "lanes_review.json", NEW_FORM).json["problems"] == []
    saved = save(designer, "lanes.bpmn", lanes_with_review_task())
    assert saved.json["problems"] == []

    deployed = deploy_drafts(designer)

    assert deployed.status_code == 200, deployed.json
    assert deployed.json["versions"] == [{"process_id": "lanes_demo", "version": 2, "title": "泳道示例 / Lanes demo"}]
    assert 'class="badge text-bg-warning draft-badge"' not in designer.get("/designer/").get_data(as_text=True)
    after = agent.start("lanes_demo").json
    assert api("root").get(f"/instances/{before['id']}").json["bundle_version"] == 1
    assert api("root").get(f"/instances/{after['id']}").json["bundle_version"] == 2
    # The old instance goes record -> handle; the new one record -> review (the new form) -> handle.
    for instance, next_step, form in ((before, "handle", "lanes_handle.json"), (after, "review", "lanes_review.json")):
        [record] = api("root").get(f"/instances/{instance['id']}").json["tasks"]
        assert agent.complete(record["id"], {"summary": "漏水"}).status_code == 200
        [opened] = api("root").get(f"/instances/{instance['id']}").json["tasks"]
        assert (opened["name"], opened["form_key"]) == (next_step, form)
    history = designer.get("/designer/processes/lanes_demo").get_data(as_text=True)
    assert "lin-name" in history and "v2" in history


def test_a_set_with_problems_deploys_nothing_and_names_each_element(designer, lanes_v1):
    save(designer, "lanes.bpmn", broken_lanes())

    refused = deploy_drafts(designer)

    assert refused.status_code == 422
    where = {(p["element_id"], p["message"].split(":")[0]) for p in refused.json["problems"]}
    assert ("orphan", "unreachable") in where
    assert ("flow_handle_end", "condition does not compile") in where
    assert bundle_count() == 1
    assert "lanes.bpmn" in designer.get("/designer/").get_data(as_text=True)  # the draft is kept
    assert "orphan" in designer.get("/designer/files/lanes.bpmn/download").get_data(as_text=True)


def test_the_diff_names_elements_added_removed_and_changed(designer, lanes_v1):
    save(designer, "lanes_review.json", NEW_FORM)
    save(designer, "lanes.bpmn", lanes_with_review_task())
    assert deploy_drafts(designer).status_code == 200

    page = designer.get("/designer/processes/lanes_demo/diff?old=1&new=2")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    changes = {(element, kind) for element, kind in
               re.findall(r'data-element-id="([^"]+)" data-kind="([^"]+)"', html)}
    assert {("review", "added"), ("flow_review_handle", "added"), ("handle", "changed"),
            ("flow_record_handle", "changed"), ("lane_dept_owner", "changed")} <= changes
    assert ("review_note", "added") in changes  # the new form's field
    assert not {c for c in changes if c[0] in ("record", "start", "end")}  # untouched elements are not listed
    backwards = designer.get("/designer/processes/lanes_demo/diff?old=2&new=1").get_data(as_text=True)
    assert 'data-element-id="review" data-kind="removed"' in backwards


def test_any_version_can_be_downloaded_and_rolled_back_as_the_newest(designer, api, lanes_v1):
    save(designer, "lanes_review.json", NEW_FORM)
    save(designer, "lanes.bpmn", lanes_with_review_task())
    assert deploy_drafts(designer).status_code == 200
    v1 = designer.get("/designer/processes/lanes_demo/versions/1/files/lanes.bpmn")
    assert v1.status_code == 200
    assert v1.get_data(as_text=True) == text_of("lanes.bpmn")
    assert "attachment" in v1.headers["Content-Disposition"]

    rolled = designer.post("/designer/processes/lanes_demo/versions/1/rollback")

    assert rolled.status_code == 302
    assert {item["id"]: item["version"] for item in api("root").get("/processes").json["items"]} == {"lanes_demo": 3}
    v3 = designer.get("/designer/processes/lanes_demo/versions/3/files/lanes.bpmn").get_data(as_text=True)
    assert v3 == text_of("lanes.bpmn")
    started = api("wang").start("lanes_demo").json
    assert api("root").get(f"/instances/{started['id']}").json["bundle_version"] == 3
    again = designer.post("/designer/processes/lanes_demo/versions/3/rollback")  # the newest: nothing to do
    assert again.status_code == 302
    assert "与最新版本相同" in designer.get("/designer/processes/lanes_demo").get_data(as_text=True)
    assert bundle_count() == 3


def test_a_camunda_modeler_diagram_opens_and_its_deploy_names_the_unsupported_parts(designer, lanes_v1):
    imported = designer.upload("/designer/import", {"camunda_repair_request.bpmn":
                                                    designer_fixture("camunda_repair_request.bpmn")})
    assert imported.status_code == 302
    assert imported.headers["Location"].endswith("/designer/files/camunda_repair_request.bpmn")
    editor = designer.get("/designer/files/camunda_repair_request.bpmn")
    assert editor.status_code == 200
    assert "Activity_review" in editor.get_data(as_text=True)

    refused = deploy_drafts(designer)

    assert refused.status_code == 422
    problems = {(p["element_id"], p["message"]) for p in refused.json["problems"]}
    messages = "\n".join(f"{element}: {message}" for element, message in sorted(problems, key=str))
    for element, words in (
        ("Activity_review", "formKey is a Camunda 7 setting"),
        ("Activity_review", "assignee is a Camunda 7 setting"),
        ("Activity_review", "candidateGroups is a Camunda 7 setting"),
        ("Activity_review", "<inputOutput> is a Camunda 7 setting"),
        ("Activity_review", "user task is not in a lane"),
        ("StartEvent_1", "formKey is a Camunda 7 setting"),
        ("Activity_notify", "class is a Camunda 7 setting"),
        ("Flow_yes", "is a Camunda expression"),
        ("Flow_no", "is a Camunda expression"),
        ("Event_review_overdue", "timer expression uses P2D"),
    ):
        assert any(e == element and words in m for e, m in problems), f"{element}: {words}\n{messages}"
    assert not any("historyTimeToLive" in m for _, m in problems)  # bookkeeping, not a problem
    assert bundle_count() == 1


def test_a_camunda_decision_table_opens_and_its_feel_cells_are_named(designer, lanes_v1):
    assert designer.upload("/designer/import", {"camunda_discount.dmn":
                                                designer_fixture("camunda_discount.dmn")}).status_code == 302
    assert designer.get("/designer/files/camunda_discount.dmn").status_code == 200
    problems = save(designer, "camunda_discount.dmn", designer_fixture("camunda_discount.dmn").decode()).json
    assert any(p["element_id"] == "DecisionRule_1a9m3f0" and "[0..5]" in p["message"] for p in problems["problems"])


def test_exported_files_are_plain_bpmn_with_their_diagram(designer, lanes_v1):
    save(designer, "lanes.bpmn", lanes_with_review_task())
    exported = designer.get("/designer/files/lanes.bpmn/download")
    assert exported.status_code == 200
    assert 'filename="lanes.bpmn"' in exported.headers["Content-Disposition"]
    root = etree.fromstring(exported.get_data())
    assert root.tag == "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"
    assert root.find("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram") is not None
    assert exported.get_data(as_text=True) == lanes_with_review_task()


@pytest.mark.parametrize("name", ["xxe.bpmn", "billion_laughs.dmn"])
def test_hostile_xml_is_refused_with_a_clear_message_and_nothing_is_kept(designer, lanes_v1, name):
    imported = designer.upload("/designer/import", {name: designer_fixture(name)})
    assert imported.status_code == 400
    assert "DOCTYPE and ENTITY declarations are not allowed" in imported.get_data(as_text=True)
    saved = save(designer, name, designer_fixture(name).decode())
    assert saved.status_code == 400
    assert "DOCTYPE and ENTITY declarations are not allowed" in saved.json["message"]
    assert designer.get(f"/designer/files/{name}").status_code == 404
    assert name not in designer.get("/designer/").get_data(as_text=True)


def test_file_names_and_non_bpmn_xml_are_refused(designer, lanes_v1):
    assert save(designer, "../etc/passwd.bpmn", "<x/>").status_code == 404
    refused = save(designer, "notes.bpmn", '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>')
    assert refused.status_code == 400
    assert "not a BPMN document" in refused.json["message"]
    assert designer.upload("/designer/import", {"run.sh": b"echo hi"}).status_code == 400


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("condition", 'category == "repair"', None),
    ("condition", "category ==", "语法错误"),
    ("condition", "__import__('os')", "语法错误"),
    ("script", "x = 1\ny = x + 1", None),
    ("script", "x = ().__class__", "语法错误"),
    ("timer:timeDuration", '"PT24H"', None),
    ("timer:timeDuration", '"24 hours"', "不是有效的 ISO 8601 值"),
    ("timer:timeDuration", "add_hours(reported_at, limit_hours)", None),
    ("expression", "", "表达式为空"),
])
def test_expressions_are_checked_as_the_designer_types(designer, kind, text, expected):
    response = designer.post_json("/designer/check", {"kind": kind, "text": text})
    assert response.status_code == 200
    if expected is None:
        assert response.json["error"] is None
    else:
        assert expected in response.json["error"]


def test_the_form_preview_uses_the_staff_renderer_and_the_meta_schema(designer, lanes_v1):
    preview = designer.post_json("/designer/forms/preview", {"content": NEW_FORM}).json
    assert preview["errors"] == []
    assert 'data-field="review_note"' in preview["html"]
    assert "复核意见" in preview["html"]
    broken = json.loads(NEW_FORM)
    broken["properties"]["review_note"]["type"] = "strin"
    broken["required"] = "review_note"
    errors = designer.post_json("/designer/forms/preview", {"content": json.dumps(broken)}).json["errors"]
    assert {error["path"] for error in errors} >= {"properties/review_note/type", "required"}
    assert designer.post_json("/designer/forms/preview", {"content": "{"}).json["errors"][0]["message"].startswith(
        "not valid JSON")


def test_a_new_form_is_created_as_a_draft_and_opens_in_the_form_editor(designer, lanes_v1):
    created = designer.post_json("/designer/forms/new", {"name": "lanes_check.json", "title": "核对 / Check"})
    assert created.status_code == 201
    page = designer.get(created.json["url"])
    assert page.status_code == 200
    assert "vendor/designer/form.js" in page.get_data(as_text=True)
    assert designer.post_json("/designer/forms/new", {"name": "lanes_record.json", "title": "x"}).status_code == 409
    assert designer.post_json("/designer/forms/new", {"name": "lanes_check.json", "title": "x"}).status_code == 409


def test_a_draft_can_be_discarded(designer, lanes_v1):
    save(designer, "lanes.bpmn", broken_lanes())
    assert designer.post("/designer/files/lanes.bpmn/discard").status_code == 302
    assert designer.get("/designer/files/lanes.bpmn/download").get_data(as_text=True) == text_of("lanes.bpmn")
    assert deploy_drafts(designer).status_code == 400  # nothing to deploy


def test_the_home_page_deploys_every_draft_or_lists_the_problems(designer, lanes_v1):
    save(designer, "lanes.bpmn", broken_lanes())
    refused = designer.post("/designer/deploy-drafts")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "定义有误，未部署" in page
    assert 'data-element-id="orphan"' in page
    assert bundle_count() == 1

    save(designer, "lanes_review.json", NEW_FORM)
    save(designer, "lanes.bpmn", lanes_with_review_task())
    deployed = designer.post("/designer/deploy-drafts")
    assert deployed.status_code == 302
    assert "已部署：泳道示例 v2" in designer.get("/designer/").get_data(as_text=True)
    assert bundle_count() == 2


def test_a_save_over_someone_elses_newer_draft_is_refused_and_theirs_is_kept(designer, console_of, lanes_v1):
    other = console_of("root")
    opened = designer_config(designer, "lanes.bpmn")["revision"]
    assert designer_config(other, "lanes.bpmn")["revision"] == opened
    mine = lanes_with_review_task()
    saved = designer.post_json("/designer/files/lanes.bpmn/draft", {"content": mine, "revision": opened})
    assert saved.status_code == 200
    again = designer.post_json("/designer/files/lanes.bpmn/draft", {"content": mine + "\n",
                                                                      "revision": saved.json["revision"]})
    assert again.status_code == 200  # my own later save goes on from my last one

    theirs = other.post_json("/designer/files/lanes.bpmn/draft", {"content": broken_lanes(), "revision": opened})

    assert theirs.status_code == 409
    assert "lin-name" in theirs.json["message"]
    assert designer.get("/designer/files/lanes.bpmn/download").get_data(as_text=True) == mine + "\n"


def designer_config(console, name: str) -> dict:
    page = console.get(f"/designer/files/{name}").get_data(as_text=True)
    return json.loads(page.split('id="designer-config">', 1)[1].split("</script>", 1)[0])


def test_the_preview_offers_the_people_of_a_role_like_the_staff_form(designer, lanes_v1):
    schema = {"type": "object", "title": "派工 / Dispatch", "properties": {
        "supervisor": {"type": "string", "title": "主管 / Supervisor", "x-widget": "user", "x-role": "cs_supervisor"}}}
    html = designer.post_json("/designer/forms/preview", {"content": json.dumps(schema)}).json["html"]
    assert '<option value="chen"' in html
    assert "chen-name" in html


def test_a_bpmn_io_sketch_opens_and_its_deploy_says_it_is_not_executable(designer, lanes_v1):
    sketch = designer_fixture("bpmn_io_notice.bpmn")
    assert designer.upload("/designer/import", {"bpmn_io_notice.bpmn": sketch}).status_code == 302
    assert designer.get("/designer/files/bpmn_io_notice.bpmn").status_code == 200

    refused = deploy_drafts(designer)

    assert refused.status_code == 422
    assert [(p["element_id"], p["text"]) for p in refused.json["problems"]] == [
        ("Process_1", "流程未标记为可执行，也没有流程调用它，部署时不会包含它；请标记为可执行")]
    marked = sketch.replace(b'isExecutable="false"', b'isExecutable="true"')
    save(designer, "bpmn_io_notice.bpmn", marked.decode())
    assert deploy_drafts(designer).json["versions"] == [{"process_id": "Process_1", "version": 1, "title": "Process_1"}]


def test_a_huge_form_is_refused(designer, lanes_v1):
    huge = json.dumps({"type": "object", "description": "x" * (3 * 1024 * 1024)})
    refused = save(designer, "lanes_huge.json", huge)
    assert refused.status_code == 400
    assert "larger than" in refused.json["message"]


def test_an_editor_deploys_the_designers_own_drafts_and_leaves_a_colleagues_unfinished_one(designer, console_of,
                                                                                          lanes_v1, api):
    colleague = console_of("root")
    save(colleague, "lanes_handle.json", text_of("lanes_handle.json").replace("处理", "半成品"))
    save(designer, "lanes_review.json", NEW_FORM)
    save(designer, "lanes.bpmn", lanes_with_review_task())

    assert deploy_drafts(designer).json["versions"][0]["version"] == 2

    v2 = designer.get("/designer/processes/lanes_demo/versions/2/files/lanes_handle.json").get_data(as_text=True)
    assert "半成品" not in v2
    assert "半成品" in colleague.get("/designer/files/lanes_handle.json/download").get_data(as_text=True)
    assert colleague.post("/designer/deploy-drafts").status_code == 302  # the workspace button deploys all
    assert {item["id"]: item["version"] for item in api("root").get("/processes").json["items"]} == {"lanes_demo": 3}
