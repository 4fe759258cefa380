"""Every problem the checks report on the designer's fixtures reads in Chinese in the designer."""

from __future__ import annotations

import re

import pytest

from app.engine.problems import Problem
from app.web.problems import localized
from tests.conftest import FIXTURES
from tests.designer.conftest import designer_fixture

CJK = re.compile(r"[\u4e00-\u9fff]")
BROKEN = sorted(path.name for path in (FIXTURES / "broken").iterdir() if path.is_dir())


def chinese(problems: list[dict]) -> list[str]:
    return [p["message"] for p in problems if not CJK.search(p["text"])]


@pytest.mark.parametrize("case", BROKEN)
def test_the_foundations_broken_fixtures_read_in_chinese(designer, lanes_v1, case):
    folder = FIXTURES / "broken" / case
    shown: list[dict] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.suffix != ".json"):  # forms first, the diagram last
        if path.name == "EXPECTED.txt":
            continue
        response = designer.post_json(f"/designer/files/{path.name}/draft", {"content": path.read_text()})
        if response.status_code == 400:  # hostile or malformed XML is refused before it is stored
            shown.append({"message": response.json["message"], "text": response.json["message"]})
        else:
            shown += response.json["problems"]
    assert shown, case
    assert chinese(shown) == []


def test_the_camunda_diagrams_problems_read_in_chinese(designer, lanes_v1):
    for name in ("camunda_repair_request.bpmn", "camunda_discount.dmn"):
        response = designer.post_json(f"/designer/files/{name}/draft", {"content": designer_fixture(name).decode()})
        assert chinese(response.json["problems"]) == []
    refused = designer.post_json("/designer/deploy", {})
    assert refused.status_code == 422
    assert chinese(refused.json["problems"]) == []


def test_english_shows_the_engines_words_and_unknown_shapes_pass_through():
    problem = Problem("a.bpmn", "x", "unreachable: no sequence flow leads here")
    assert localized(problem.message, "en") == problem.message
    assert localized("something new", "zh") == "something new"
