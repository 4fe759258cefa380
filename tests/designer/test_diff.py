"""The element diff between two versions: meaning, not spelling (engine level, no Flask)."""

from __future__ import annotations

from app.engine.diff import diff_files
from tests.designer.conftest import text_of


def changes(old: str, new: str) -> set[tuple[str, str]]:
    [diff] = diff_files({"lanes.bpmn": old}, {"lanes.bpmn": new}) or [None]
    return {(change.element_id, change.kind) for change in diff.changes} if diff else set()


def test_moving_a_shape_or_spelling_a_default_is_no_change():
    original = text_of("lanes.bpmn")
    moved = original.replace('<dc:Bounds x="130" y="80" width="700" height="160" />',
                             '<dc:Bounds x="140" y="90" width="700" height="160" />')
    assert moved != original
    assert changes(original, moved) == set()
    spelled = original.replace('<bpmn:userTask id="record" name="登记 / Record">',
                               '<bpmn:userTask id="record" name="登记 / Record" startQuantity="1">')
    assert changes(original, spelled) == set()


def test_a_renamed_task_and_a_moved_lane_member_are_changes():
    original = text_of("lanes.bpmn")
    renamed = original.replace("处理 / Handle", "复核 / Review")
    assert changes(original, renamed) == {("handle", "changed")}
    relaned = original.replace('<bpmn:flowNodeRef>handle</bpmn:flowNodeRef>\n', '').replace(
        '<bpmn:flowNodeRef>record</bpmn:flowNodeRef>\n',
        '<bpmn:flowNodeRef>record</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>handle</bpmn:flowNodeRef>\n')
    assert changes(original, relaned) == {("lane_cs_agent", "changed"), ("lane_dept_owner", "changed")}


def test_files_added_and_removed_are_named_with_their_elements():
    diffs = diff_files({"a.json": '{"type": "object", "properties": {"x": {"type": "string"}}}'},
                       {"lanes.bpmn": text_of("lanes.bpmn")})
    assert [(d.file, d.kind) for d in diffs] == [("a.json", "removed"), ("lanes.bpmn", "added")]
    assert ("x", "removed") in {(c.element_id, c.kind) for c in diffs[0].changes}
    assert {"record", "handle", "flow_record_handle"} <= {c.element_id for c in diffs[1].changes}
