"""Reads a set of definition files (BPMN, DMN, JSON forms) into an index of what each one holds.

Only lxml is used here: finding processes, calls, decisions and forms is cheap, so the
deploy service can tell which bundles changed before anything is parsed by SpiffWorkflow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from jsonschema import Draft202012Validator, SchemaError
from lxml import etree

from app.engine.form_schema import JsonTooDeepError, form_schema_problems, load_json
from app.engine.problems import Problem
from app.engine.xml import UnsafeXmlError, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
FORM_PROPERTY = "formJsonSchemaFilename"


def bpmn_tag(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


def spiff_properties(node: etree._Element) -> dict[str, str]:
    """The ``spiffworkflow:property`` name/value pairs of an element."""
    props = node.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    return {p.get("name", ""): p.get("value", "") for p in props}


def spiff_extension(node: etree._Element, name: str) -> str | None:
    found = node.find(f"bpmn:extensionElements/spiffworkflow:{name}", NS)
    return found.text if found is not None else None


@dataclass
class ProcessInfo:
    process_id: str
    title: str
    file: str
    executable: bool
    node: etree._Element
    calls: dict[str, str] = field(default_factory=dict)  # call activity id -> called process id
    decisions: dict[str, str] = field(default_factory=dict)  # business rule task id -> decision id
    forms: dict[str, str] = field(default_factory=dict)  # element id -> form file name


@dataclass
class Library:
    """Every file of a deployable set, parsed once, with the problems found while reading."""

    texts: dict[str, bytes]
    bpmn: dict[str, etree._Element] = field(default_factory=dict)
    dmn: dict[str, etree._Element] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, ProcessInfo] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)  # decision id -> dmn file
    problems: list[Problem] = field(default_factory=list)

    def called_process_ids(self) -> set[str]:
        return {called for info in self.processes.values() for called in info.calls.values()}

    def top_level_process_ids(self) -> list[str]:
        called = self.called_process_ids()
        return sorted(pid for pid, info in self.processes.items() if info.executable and pid not in called)


def read_library(texts: Mapping[str, bytes]) -> Library:
    """Parse every file; problems of unreadable files are collected, never raised."""
    library = Library(texts=dict(texts))
    for name, content in sorted(texts.items()):
        if name.endswith(".json"):
            _read_form(library, name, content)
        elif name.endswith((".bpmn", ".dmn", ".xml")):
            _read_xml(library, name, content)
        else:
            library.problems.append(Problem(name, None, "unsupported file type (expected .bpmn, .dmn or .json)"))
    return library


def _read_form(library: Library, name: str, content: bytes) -> None:
    try:
        schema = load_json(content)
    except JsonTooDeepError as exc:
        library.problems.append(Problem(name, None, f"form is {exc}"))
        return
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        library.problems.append(Problem(name, None, f"form is not valid JSON: {exc}"))
        return
    meta_schema_error = _meta_schema_error(content, schema)
    if meta_schema_error is not None:
        library.problems.append(Problem(name, None, f"form is not a valid JSON Schema: {meta_schema_error}"))
        return
    if not isinstance(schema, dict) or schema.get("type") != "object":
        library.problems.append(Problem(name, None, 'form schema must have "type": "object"'))
        return
    # Refused, but still known as a form, so the processes using it are not also told it does not exist.
    unsafe = form_schema_problems(schema)  # validation stays linear and local (form_schema.py)
    library.problems.extend(Problem(name, field_name, message) for field_name, message in unsafe)
    library.forms[name] = schema


_META_SCHEMA_CHECKS: dict[bytes, str | None] = {}  # sha-256 of a form file -> its meta-schema error, or None
_META_SCHEMA_CHECKS_KEPT = 1024
_UNCHECKED = object()


def _meta_schema_error(content: bytes, schema: Any) -> str | None:
    """Why ``schema`` (parsed from ``content``) breaks the Draft 2020-12 meta-schema, or None.

    The check is most of the cost of reading a set of forms, and a redeploy sends the same forms
    again, so the answer is remembered by the hash of the file's bytes: the same bytes parse to the
    same schema, so a remembered answer cannot go stale.
    """
    key = hashlib.sha256(content).digest()
    remembered = _META_SCHEMA_CHECKS.get(key, _UNCHECKED)
    if remembered is not _UNCHECKED:
        return cast("str | None", remembered)
    try:
        Draft202012Validator.check_schema(schema)
        error = None
    except SchemaError as exc:
        error = exc.message
    if len(_META_SCHEMA_CHECKS) >= _META_SCHEMA_CHECKS_KEPT:
        _META_SCHEMA_CHECKS.clear()
    _META_SCHEMA_CHECKS[key] = error
    return error


def _read_xml(library: Library, name: str, content: bytes) -> None:
    try:
        root = parse_xml(content)
    except UnsafeXmlError as exc:
        library.problems.append(Problem(name, None, str(exc)))
        return
    namespace = etree.QName(root).namespace
    if namespace == BPMN_NS:
        library.bpmn[name] = root
        _index_processes(library, name, root)
    elif namespace in DMN_NAMESPACES:
        library.dmn[name] = root
        for decision in root.iterfind(f"{{{namespace}}}decision"):
            library.decisions[decision.get("id", "")] = name
    else:
        library.problems.append(Problem(name, None, f"not a BPMN or DMN document (root namespace {namespace})"))


def _index_processes(library: Library, name: str, root: etree._Element) -> None:
    for node in root.iterfind("bpmn:process", NS):
        process_id = node.get("id", "")
        if process_id in library.processes:
            library.problems.append(Problem(name, process_id, f"process id also defined in "
                                                              f"{library.processes[process_id].file}"))
            continue
        info = ProcessInfo(process_id, node.get("name") or process_id, name,
                           node.get("isExecutable", "false") == "true", node)
        for call in node.iter(bpmn_tag("callActivity")):
            info.calls[call.get("id", "")] = call.get("calledElement", "")
        for task in node.iter(bpmn_tag("businessRuleTask")):
            info.decisions[task.get("id", "")] = spiff_extension(task, "calledDecisionId") or ""
        for element in (*node.iter(bpmn_tag("userTask")), *node.iter(bpmn_tag("startEvent"))):
            form = spiff_properties(element).get(FORM_PROPERTY)
            if form:
                info.forms[element.get("id", "")] = form
        library.processes[process_id] = info
