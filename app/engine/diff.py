"""What changed between two versions of a set of definition files, element by element (lxml only).

BPMN elements are compared by id with their diagram layout left out (moving a shape is not a
change of the process); DMN rules and decisions by id; forms field by field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from lxml import etree

from app.engine.xml import UnsafeXmlError, parse_xml

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
_LAYOUT_NAMESPACES = (
    "http://www.omg.org/spec/BPMN/20100524/DI", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/",
)
_CONTAINERS = ("definitions", "process", "laneSet", "subProcess", "collaboration", "decision", "decisionTable")


@dataclass(frozen=True)
class ElementChange:
    element_id: str
    kind: str  # added | removed | changed
    element_type: str  # the XML local name (userTask, sequenceFlow, rule) or "field" for a form
    name: str


@dataclass(frozen=True)
class FileDiff:
    file: str
    kind: str  # added | removed | changed
    changes: tuple[ElementChange, ...]


def diff_files(old: Mapping[str, str], new: Mapping[str, str]) -> list[FileDiff]:
    """Every file that differs between ``old`` and ``new`` (name -> text), with its element changes."""
    diffs = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        kind = ADDED if before is None else REMOVED if after is None else CHANGED
        diffs.append(FileDiff(name, kind, tuple(_element_changes(name, before or "", after or ""))))
    return diffs


def _element_changes(name: str, before: str, after: str) -> list[ElementChange]:
    index = _form_fields if name.endswith(".json") else _xml_elements
    old, new = index(before), index(after)
    changes = []
    for element_id in sorted(set(old) | set(new)):
        if element_id not in old:
            changes.append(ElementChange(element_id, ADDED, *new[element_id][:2]))
        elif element_id not in new:
            changes.append(ElementChange(element_id, REMOVED, *old[element_id][:2]))
        elif old[element_id][2] != new[element_id][2]:
            changes.append(ElementChange(element_id, CHANGED, *new[element_id][:2]))
    return changes


Signature = tuple[str, str, str]  # element type, name, canonical content


def _xml_elements(text: str) -> dict[str, Signature]:
    if not text:
        return {}
    try:
        root = parse_xml(text.encode("utf-8"))
    except UnsafeXmlError:
        return {}
    found: dict[str, Signature] = {}
    for node in root.iter():
        parent = node.getparent()
        if not isinstance(node.tag, str) or parent is None or not node.get("id"):
            continue
        if etree.QName(node).namespace in _LAYOUT_NAMESPACES or _local(parent) not in _CONTAINERS:
            continue
        if _local(node) in _CONTAINERS and _local(node) != "subProcess":
            continue
        found[node.get("id", "")] = (_local(node), node.get("name") or "", _canonical(node))
    return found


def _local(node: etree._Element) -> str:
    return cast(str, etree.QName(node).localname)  # lxml has no type hints


# Attribute values that mean the same as leaving the attribute out (editors differ in writing them).
_DEFAULTS = {"cancelActivity": "true", "isInterrupting": "true", "parallelMultiple": "false", "instantiate": "false",
             "isForCompensation": "false", "triggeredByEvent": "false", "startQuantity": "1",
             "completionQuantity": "1", "gatewayDirection": "Unspecified", "isImmediate": "true"}
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _canonical(node: etree._Element, *, nested: bool = False) -> str:
    """The element's meaning as text: attributes (defaults and xsi:type left out), text, children in order.

    A container's own elements are compared on their own, so they are left out of its text.
    """
    attributes = sorted((key, value) for key, value in node.attrib.items()
                        if key != _XSI_TYPE and _DEFAULTS.get(key) != value)
    parts = [str(node.tag), repr(attributes), (node.text or "").strip()]
    for child in node:
        if not isinstance(child.tag, str) or (not nested and _local(node) in _CONTAINERS and child.get("id")):
            continue
        parts.append(_canonical(child, nested=True))
    return "<" + "|".join(parts) + ">"


def _form_fields(text: str) -> dict[str, Signature]:
    try:
        schema = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    if not isinstance(schema, dict):
        return {}
    required = set(schema.get("required") or [])
    fields: dict[str, Signature] = {}
    for field_name, spec in (schema.get("properties") or {}).items():
        title = spec.get("title", "") if isinstance(spec, dict) else ""
        content = json.dumps({"spec": spec, "required": field_name in required}, sort_keys=True, ensure_ascii=False)
        fields[field_name] = ("field", str(title), content)
    rest = {key: value for key, value in schema.items() if key not in ("properties", "required")}
    fields["(form)"] = ("form", str(schema.get("title", "")), json.dumps(rest, sort_keys=True, ensure_ascii=False))
    return fields
