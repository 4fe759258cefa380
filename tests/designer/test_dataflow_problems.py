"""The designer's check on every draft save shows a data-flow finding on its element, in Chinese."""

from __future__ import annotations

from tests.web.test_api_dataflow import MAIN, files


def test_the_designer_shows_the_finding_on_the_element_in_chinese(designer):
    for name, content in files(*MAIN).items():
        saved = designer.post_json(f"/designer/files/{name}/draft", {"content": content.decode()})
        assert saved.status_code == 200, saved.json
    problems = [p for p in saved.json["problems"] if p["element_id"] == "review"]
    assert [p["file"] for p in problems] == ["df_main.bpmn"]
    assert problems[0]["text"].startswith("读取的变量“level”")
    assert "start → prepare → gw_amount → gw_merge → review" in problems[0]["text"]


def test_a_draft_that_sets_it_on_every_path_shows_no_finding(designer):
    fixed = files(*MAIN, edit=("df_main.bpmn", "squares = [n * n", 'level = "normal"\nsquares = [n * n'))
    for name, content in fixed.items():
        saved = designer.post_json(f"/designer/files/{name}/draft", {"content": content.decode()})
        assert saved.status_code == 200, saved.json
    assert saved.json["problems"] == []
