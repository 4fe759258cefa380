"""Deploy-time checks beyond SpiffWorkflow's parser: what would otherwise fail only at run time."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from lxml import etree
from RestrictedPython.Guards import safe_builtins

from app.engine.hit_policy import overlapping_rules
from app.engine.instructions import instruction_problems
from app.engine.library import NS, Library, ProcessInfo, bpmn_tag, spiff_extension, spiff_properties
from app.engine.problems import Problem
from app.engine.scripting import (
    HELPER_NAMES,
    ScriptCompileError,
    compile_expression,
    compile_script,
    evaluate_constant,
    expression_names,
)
from app.engine.settings import DECLARED_SETTINGS, undeclared_setting_keys
from app.engine.timers import TimerValueError, parse_timer_value

FLOW_NODES = (
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "inclusiveGateway",
    "parallelGateway", "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent", "endEvent",
)
GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway")
TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
NARROWING_PROPERTIES = ("department", "assignee", "deadline")  # user-task property expressions


def check_process(info: ProcessInfo, library: Library, role_names: Mapping[str, str],
                  system_variables: frozenset[str] = frozenset()) -> list[Problem]:
    """Every problem of one process: lanes, flows, scripts, conditions, timers, narrowing properties, instructions."""
    known = known_variables(library) | system_variables
    return [
        Problem(info.file, element_id, message)
        for element_id, message in (
            *_check_lanes(info.node, role_names),
            *_check_flows(info.node),
            *_check_scripts(info.node),
            *_check_conditions(info.node),
            *_check_timers(info.node, known),
            *_check_properties(info.node),
            *_check_foreign(info.node),
            *_check_instructions(info.node),
            *_check_setting_keys(info.node),
        )
    ]


def known_variables(library: Library) -> set[str]:
    """Names that task data can hold: form fields, script assignments, DMN outputs, data objects."""
    names: set[str] = set()
    for schema in library.forms.values():
        names.update((schema.get("properties") or {}).keys())
    for root in library.bpmn.values():
        for script in root.iter(bpmn_tag("script")):
            names.update(_assigned_names(script.text or ""))
        for data_object in root.iter(bpmn_tag("dataObject")):
            names.add(data_object.get("id", ""))
    for root in library.dmn.values():
        for output in root.iter(f"{{{etree.QName(root).namespace}}}output"):
            names.add(output.get("name", ""))
    return names


def _assigned_names(script: str) -> set[str]:
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def _check_lanes(process: etree._Element, role_names: Mapping[str, str]) -> Iterator[tuple[str | None, str]]:
    in_lane: set[str] = set()
    for lane in process.iterfind(".//bpmn:lane", NS):
        name = (lane.get("name") or "").strip()
        if name not in role_names:
            yield lane.get("id"), f"lane '{name}' names no known role"
        in_lane.update(ref.text or "" for ref in lane.iterfind("bpmn:flowNodeRef", NS))
    for task in process.iter(bpmn_tag("userTask")):
        if task.get("id") not in in_lane and not _inside_called_lane(task):
            yield task.get("id"), "user task is not in a lane, so no role can see it"


def _inside_called_lane(task: etree._Element) -> bool:
    # A user task inside an embedded sub-process takes the lane of the sub-process.
    parent = task.getparent()
    while parent is not None and parent.tag != bpmn_tag("process"):
        if parent.tag == bpmn_tag("subProcess"):
            return True
        parent = parent.getparent()
    return False


def _check_flows(process: etree._Element) -> Iterator[tuple[str | None, str]]:
    for container in (process, *process.iter(bpmn_tag("subProcess"))):
        flows = container.findall("bpmn:sequenceFlow", NS)
        sources = {flow.get("sourceRef") for flow in flows}
        targets = {flow.get("targetRef") for flow in flows}
        for flow in flows:
            ids = {node.get("id") for node in container}
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in ids:
                    yield flow.get("id"), f"sequence flow {end} '{flow.get(end)}' is not an element of this process"
        for node in container:
            yield from _check_node_flows(node, sources, targets)


def _check_node_flows(node: etree._Element, sources: set[str | None],
                      targets: set[str | None]) -> Iterator[tuple[str | None, str]]:
    local = etree.QName(node).localname
    node_id = node.get("id")
    if local in GATEWAYS and node_id not in sources:
        yield node_id, "gateway has no outgoing sequence flow"
    if local in ("startEvent", "boundaryEvent") and node_id not in sources:
        yield node_id, f"{local} has no outgoing sequence flow"
    if local in FLOW_NODES and node_id not in targets and node.get("triggeredByEvent") != "true":
        yield node_id, "unreachable: no sequence flow leads here"


def _check_scripts(process: etree._Element) -> Iterator[tuple[str | None, str]]:
    for task in process.iter(bpmn_tag("scriptTask")):
        script = task.find("bpmn:script", NS)
        yield from _compile_script(task.get("id"), script.text if script is not None else "", "script")
    for node in process.iter():
        for kind in ("preScript", "postScript"):
            text = spiff_extension(node, kind) if isinstance(node.tag, str) else None
            if text:
                yield from _compile_script(node.get("id"), text, kind)


def _compile_script(element_id: str | None, text: str | None, what: str) -> Iterator[tuple[str | None, str]]:
    try:
        compile_script(text or "")
    except ScriptCompileError as exc:
        yield element_id, f"{what} does not compile: {exc}"


def _check_conditions(process: etree._Element) -> Iterator[tuple[str | None, str]]:
    for flow in process.iter(bpmn_tag("sequenceFlow")):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None:
            yield from _compile_expression(flow.get("id"), condition.text, "condition")


def _compile_expression(element_id: str | None, text: str | None, what: str) -> Iterator[tuple[str | None, str]]:
    if not (text or "").strip():
        yield element_id, f"{what} is empty"
        return
    try:
        compile_expression(text or "")
    except ScriptCompileError as exc:
        yield element_id, f"{what} does not compile: {exc}"


def _check_timers(process: etree._Element, known: set[str]) -> Iterator[tuple[str | None, str]]:
    allowed = known | HELPER_NAMES | set(safe_builtins)
    for timer in process.iter(bpmn_tag("timerEventDefinition")):
        event_id = timer.getparent().get("id")
        for kind in TIMER_KINDS:
            expression = timer.find(f"bpmn:{kind}", NS)
            if expression is not None:
                yield from _check_timer_expression(event_id, kind, expression.text or "", allowed)


def _check_timer_expression(event_id: str | None, kind: str, text: str,
                            allowed: set[str]) -> Iterator[tuple[str | None, str]]:
    problems = list(_compile_expression(event_id, text, "timer expression"))
    if problems:
        yield from problems
        return
    unknown = sorted(expression_names(text) - allowed)
    if unknown:
        yield event_id, f"timer expression uses {', '.join(unknown)}, which no form, script or table sets"
    elif not expression_names(text):
        try:
            parse_timer_value(kind, evaluate_constant(text))
        except (TimerValueError, TypeError, ValueError) as exc:
            yield event_id, f"timer expression is not a valid ISO 8601 {kind}: {exc}"


def _check_setting_keys(process: etree._Element) -> Iterator[tuple[str | None, str]]:
    """``setting("key")`` with a key no setting declares would stop the instance at run time: refuse it now."""
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        keys = {key for text in (node.text, *node.attrib.values()) for key in undeclared_setting_keys(text)}
        for key in sorted(keys):
            owner = node if node.get("id") else next((up for up in node.iterancestors() if up.get("id")), node)
            yield owner.get("id"), (f"setting({key!r}) names no setting; known: "
                                    f"{', '.join(sorted(DECLARED_SETTINGS))}")


def _check_properties(process: etree._Element) -> Iterator[tuple[str | None, str]]:
    for task in process.iter(bpmn_tag("userTask")):
        properties = spiff_properties(task)
        for name in NARROWING_PROPERTIES:
            if name in properties:
                yield from _compile_expression(task.get("id"), properties[name], f"property '{name}'")


FOREIGN_NAMESPACES = {  # other engines' extensions: a diagram made for them opens, but these parts do not run here
    "http://camunda.org/schema/1.0/bpmn": "Camunda 7",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8 (Zeebe)",
    "http://activiti.org/bpmn": "Activiti",
    "http://flowable.org/bpmn": "Flowable",
}
# Bookkeeping of other engines that changes nothing about how a process runs: ignored without a word.
HARMLESS_FOREIGN = frozenset({"historyTimeToLive", "versionTag", "isStartableInTasklist", "asyncBefore", "asyncAfter",
                              "exclusive", "jobPriority"})
FOREIGN_HINTS = {
    "formKey": "choose a form (formJsonSchemaFilename) instead",
    "formDefinition": "choose a form (formJsonSchemaFilename) instead",
    "assignee": "put the task in the lane of a role instead",
    "candidateGroups": "put the task in the lane of a role instead",
    "candidateUsers": "put the task in the lane of a role instead",
    "assignmentDefinition": "put the task in the lane of a role instead",
    "class": "a Java class cannot run here; use a script task",
    "delegateExpression": "a Java delegate cannot run here; use a script task",
    "taskDefinition": "a job worker cannot run here; use a script task",
}


def _check_foreign(process: etree._Element) -> Iterator[tuple[str | None, str]]:
    """Settings of other engines that this one ignores, named so a designer knows what to redo."""
    for node in process.iter():
        if not isinstance(node.tag, str):
            continue
        owner = _owner_id(node)
        namespace = etree.QName(node).namespace
        if namespace in FOREIGN_NAMESPACES:
            if etree.QName(node.getparent()).namespace in FOREIGN_NAMESPACES:
                continue  # named with the outermost foreign element
            yield owner, _foreign_message(FOREIGN_NAMESPACES[namespace], f"<{etree.QName(node).localname}>",
                                          etree.QName(node).localname)
            continue
        for attribute in node.attrib:
            qname = etree.QName(attribute)
            if qname.namespace in FOREIGN_NAMESPACES and qname.localname not in HARMLESS_FOREIGN:
                yield owner, _foreign_message(FOREIGN_NAMESPACES[qname.namespace], qname.localname, qname.localname)
        if etree.QName(node).localname == "conditionExpression" and _is_foreign_expression(node.text or ""):
            yield owner, (f"condition '{(node.text or '').strip()}' is a Camunda expression (JUEL/FEEL); "
                          "write it in Python, e.g. amount > 100")


def _owner_id(node: etree._Element) -> str | None:
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node.get("id") if node is not None else None


def _foreign_message(engine: str, what: str, key: str) -> str:
    hint = FOREIGN_HINTS.get(key, "this engine ignores it")
    return f"{what} is a {engine} setting that this engine does not support: {hint}"


def _is_foreign_expression(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(("${", "#{", "="))


def _check_instructions(process: etree._Element) -> Iterator[tuple[str | None, str]]:
    # What the task page renders: instructionsForEndUser, else the task's documentation.
    for task in (*process.iter(bpmn_tag("userTask")), *process.iter(bpmn_tag("manualTask"))):
        text = spiff_extension(task, "instructionsForEndUser")
        if not text:
            documentation = task.find("bpmn:documentation", NS)
            text = documentation.text if documentation is not None else None
        for message in instruction_problems(text or ""):
            yield task.get("id"), message


def check_decision_tables(file: str, root: etree._Element) -> list[Problem]:
    """Input cells compile the way SpiffWorkflow will run them (it glues the input to the cell)."""
    ns = {"dmn": etree.QName(root).namespace or ""}
    problems = []
    for table in root.iterfind(".//dmn:decisionTable", ns):
        problems.extend(_unique_overlaps(file, table, ns))
        inputs = [(text.text or "").strip() for text in table.iterfind("dmn:input/dmn:inputExpression/dmn:text", ns)]
        for rule in table.iterfind("dmn:rule", ns):
            for input_expression, entry in zip(inputs, rule.iterfind("dmn:inputEntry/dmn:text", ns), strict=False):
                message = _input_cell_problem(input_expression, (entry.text or "").strip())
                if message:
                    problems.append(Problem(file, rule.get("id"), message))
    return problems


def _unique_overlaps(file: str, table: etree._Element, ns: dict[str, str]) -> list[Problem]:
    """A UNIQUE table (the DMN default) whose rows can match the same input: SpiffWorkflow would take the first."""
    if (table.get("hitPolicy") or "UNIQUE").upper() != "UNIQUE":
        return []
    rows = [[(entry.text or "") for entry in rule.iterfind("dmn:inputEntry/dmn:text", ns)]
            for rule in table.iterfind("dmn:rule", ns)]
    pairs = overlapping_rules(rows)
    if not pairs:
        return []
    element = table.get("id") or table.getparent().get("id")
    named = ", ".join(f"{a} and {b}" for a, b in pairs[:5]) + (" …" if len(pairs) > 5 else "")
    return [Problem(file, element, f"hit policy UNIQUE, but rules {named} overlap (one input matches both); "
                                   "make the rows exclusive or use hit policy FIRST")]


def _input_cell_problem(input_expression: str, cell: str) -> str | None:
    hint = "write a value, or use ? for the input (e.g. ? in (\"a\", \"b\"))"
    if cell in ("", "-"):
        return None
    try:
        if "?" in cell:
            compile_expression(cell.replace("?", "dmninputexpr"))
            return None
        compile_expression(cell)
        return None  # a plain value: SpiffWorkflow compares it with ==
    except ScriptCompileError:
        pass
    # SpiffWorkflow glues the input to the cell with no space: `category` + `in (...)` reads `categoryin (...)`.
    glued = input_expression + cell
    try:
        compile_expression(glued)
        expected = expression_names(input_expression) | (expression_names(f"v {cell}") - {"v"})
    except ScriptCompileError:
        return f"input cell '{cell}' does not compile; {hint}"
    strays = expression_names(glued) - expected
    if strays:
        return f"input cell '{cell}' joins the input into {', '.join(sorted(strays))}; {hint}"
    return None
