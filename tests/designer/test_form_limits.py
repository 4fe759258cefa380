"""The designer refuses, with the form, field and reason in the designer's language, a form whose checking could
hang or reach out: a pattern only a backtracking engine runs, a $ref outside the form, JSON nested too deep."""

from __future__ import annotations

import json

import pytest

from tests.designer.conftest import bundle_count, text_of

FORM = "lanes_record.json"


def record_form(**phone: object) -> str:
    form = json.loads(text_of(FORM))
    form["properties"]["phone"] |= phone
    return json.dumps(form, ensure_ascii=False)


def save(designer, content: str):
    return designer.post_json(f"/designer/files/{FORM}/draft", {"content": content})


@pytest.mark.parametrize(("field_spec", "english", "chinese"), [
    ({"pattern": "^(?!0)\\d+$"}, "without backtracking: invalid perl operator", "无法以无回溯方式匹配"),
    ({"$ref": "http://169.254.169.254/latest/meta-data"}, "leaves the form", "只允许表单内的引用"),
])
def test_a_draft_form_that_could_hang_or_reach_out_is_named_and_not_deployed(designer, lanes_v1, field_spec,
                                                                             english, chinese):
    saved = save(designer, record_form(**field_spec))
    assert saved.status_code == 200
    named = [p for p in saved.json["problems"] if english in p["message"]]
    assert [(p["file"], p["element_id"]) for p in named] == [(FORM, "phone")]
    assert chinese in named[0]["text"]

    refused = designer.post_json("/designer/deploy", {})
    assert refused.status_code == 422
    assert any(p["file"] == FORM and p["element_id"] == "phone" and english in p["message"]
               for p in refused.json["problems"])
    assert bundle_count() == 1


def test_a_form_nested_a_hundred_thousand_deep_is_named_in_the_preview_the_draft_and_the_deploy(designer, lanes_v1):
    deep = '{"type": "object", "properties": {"x": ' + '{"items": ' * 100_000 + "{}" + "}" * 100_000 + "}}"
    preview = designer.post_json("/designer/forms/preview", {"content": deep})
    assert preview.status_code == 200
    assert preview.json["errors"] == [{"path": "", "message": "nested more than 64 levels deep"}]

    saved = save(designer, deep)
    assert saved.status_code == 200
    assert {"file": FORM, "element_id": None, "message": "form is nested more than 64 levels deep",
            "text": "表单嵌套超过 64 层"} in saved.json["problems"]
    assert designer.post_json("/designer/deploy", {}).status_code == 422
    assert designer.get("/designer/").status_code == 200


def test_a_request_nested_too_deep_is_refused_with_422_not_a_server_error(designer, lanes_v1):
    deep = '{"content": ' + "[" * 100_000 + "]" * 100_000 + "}"
    refused = designer.client.post("/designer/forms/preview", data=deep, content_type="application/json",
                                   headers={"X-CSRFToken": designer.token})
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["body"]
