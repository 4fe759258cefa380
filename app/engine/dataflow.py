"""Deploy-time data-flow check: every variable an element reads is set on every path from the start.

A must-analysis over the whole bundle (called processes inlined, so data flows in from the caller and
back out): a variable is set after an element when it was set on every incoming path (intersection,
fixpoint over loops) or the element sets it — a required field of its form, a script assignment, a DMN
output. Boundary events start with what was set when their activity began. Readers: script tasks (and
pre/post scripts), sequence-flow conditions, the input expressions of a called decision, user-task
property expressions and instruction templates (names outside ``is defined`` guards). Each variable
missing somewhere is reported once, with one concrete path (element ids) on which nothing sets it.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import Environment, TemplateSyntaxError, nodes
from lxml import etree
from RestrictedPython.Guards import safe_builtins

from app.engine.instructions import InstructionsError, language_sections
from app.engine.library import FORM_PROPERTY, NS, Library, bpmn_tag, spiff_extension, spiff_properties
from app.engine.problems import Problem
from app.engine.scripting import _EXTRA_BUILTINS, HELPER_NAMES

START_VARIABLES_PROPERTY = "startVariables"  # process property: names the starter puts in the data, comma-separated
EXPRESSION_PROPERTIES = ("department", "assignee", "deadline")
NOT_VARIABLES = frozenset(HELPER_NAMES | set(safe_builtins) | set(_EXTRA_BUILTINS) | {"setting"})
GUARDING_EXCEPTIONS = frozenset({"NameError", "Exception", "BaseException"})
MAX_CALL_DEPTH = 8
_ACTIVITIES = ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
               "businessRuleTask", "callActivity", "subProcess")
_FLOW_NODES = (*_ACTIVITIES, "startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent",
               "intermediateThrowEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway",
               "eventBasedGateway", "complexGateway", "transaction")


@dataclass(frozen=True)
class Finding:
    """A variable that ``element_id`` reads and that nothing sets on ``path``."""

    file: str
    element_id: str
    variable: str
    what: str
    path: tuple[str, ...]

    def problem(self) -> Problem:
        return Problem(self.file, self.element_id, dataflow_message(self.what, self.variable, self.path))


def dataflow_message(what: str, variable: str, path: Iterable[str]) -> str:
    return (f"{what} reads '{variable}', which is not set on every path that reaches it; "
            f"missing on the path {' → '.join(path)}")


# ---------------------------------------------------------------- Python code


@dataclass(frozen=True)
class CodeEffect:
    reads: frozenset[str] = frozenset()  # free names read before this code sets them
    sets: frozenset[str] = frozenset()  # names set on every way through the code
    deletes: frozenset[str] = frozenset()  # names `del`eted and not set again


@lru_cache(maxsize=2048)
def script_effect(text: str) -> CodeEffect:
    """What a script reads, sets for sure and deletes; an unparsable script reads and sets nothing."""
    try:
        tree = ast.parse(text or "")
    except (SyntaxError, ValueError):
        return CodeEffect()
    flow = _ScriptFlow()
    sets = flow.block(tree.body, set(), guarded=False)
    return CodeEffect(frozenset(flow.reads - NOT_VARIABLES), frozenset(sets), frozenset(flow.deleted - sets))


@lru_cache(maxsize=4096)
def expression_reads(text: str) -> frozenset[str]:
    """The free names a Python expression reads (comprehension and lambda variables are its own)."""
    try:
        tree = ast.parse((text or "").strip(), mode="eval")
    except (SyntaxError, ValueError):
        return frozenset()
    found: set[str] = set()
    _expression_reads(tree.body, frozenset(), found)
    return frozenset(found - NOT_VARIABLES)


def _target_names(target: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name)}


def _expression_reads(node: ast.AST | None, bound: frozenset[str] | set[str], found: set[str]) -> None:
    if node is None:
        return
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in bound:
            found.add(node.id)
        return
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        local = set(bound)
        for generator in node.generators:
            _expression_reads(generator.iter, local, found)
            local |= _target_names(generator.target)
            for condition in generator.ifs:
                _expression_reads(condition, local, found)
        for part in ((node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)):
            _expression_reads(part, local, found)
        return
    if isinstance(node, ast.Lambda):
        arguments = node.args
        for default in (*arguments.defaults, *arguments.kw_defaults):
            _expression_reads(default, bound, found)
        names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
        names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        _expression_reads(node.body, set(bound) | names, found)
        return
    for child in ast.iter_child_nodes(node):
        _expression_reads(child, bound, found)


class _ScriptFlow:
    """Walks statements in order; ``assigned`` is what is set for sure at each point."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.deleted: set[str] = set()

    def block(self, statements: list[ast.stmt], assigned: set[str], guarded: bool) -> set[str]:
        for statement in statements:
            assigned = self.statement(statement, assigned, guarded)
        return assigned

    def read(self, node: ast.AST | None, assigned: set[str], guarded: bool) -> None:
        found: set[str] = set()
        _expression_reads(node, assigned, found)
        if not guarded:  # inside `try: ... except NameError:` a missing name is handled by the script
            self.reads |= found

    def statement(self, node: ast.stmt, assigned: set[str], guarded: bool) -> set[str]:
        handler: Callable[[ast.stmt, set[str], bool], set[str]] | None = getattr(
            self, f"_{type(node).__name__.lower()}", None)
        if handler is not None:
            return handler(node, assigned, guarded)
        for child in ast.iter_child_nodes(node):
            self.read(child, assigned, guarded)
        return assigned

    def _assign_targets(self, targets: Iterable[ast.AST], assigned: set[str], guarded: bool) -> set[str]:
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, (ast.Subscript, ast.Attribute)):
                    self.read(part, assigned, guarded)  # `x["k"] = v` and `x.a = v` read x
            assigned = assigned | {n.id for n in ast.walk(target) if isinstance(n, ast.Name)
                                   and isinstance(n.ctx, ast.Store)}
        return assigned

    def _assign(self, node: ast.Assign, assigned: set[str], guarded: bool) -> set[str]:
        self.read(node.value, assigned, guarded)
        return self._assign_targets(node.targets, assigned, guarded)

    def _annassign(self, node: ast.AnnAssign, assigned: set[str], guarded: bool) -> set[str]:
        self.read(node.value, assigned, guarded)
        return self._assign_targets([node.target], assigned, guarded) if node.value is not None else assigned

    def _augassign(self, node: ast.AugAssign, assigned: set[str], guarded: bool) -> set[str]:
        self.read(node.value, assigned, guarded)
        if isinstance(node.target, ast.Name):
            self.read(ast.Name(node.target.id, ast.Load()), assigned, guarded)
        return self._assign_targets([node.target], assigned, guarded)

    def _if(self, node: ast.If, assigned: set[str], guarded: bool) -> set[str]:
        self.read(node.test, assigned, guarded)
        return self.block(node.body, set(assigned), guarded) & self.block(node.orelse, set(assigned), guarded)

    def _while(self, node: ast.While, assigned: set[str], guarded: bool) -> set[str]:
        self.read(node.test, assigned, guarded)
        self.block(node.body, set(assigned), guarded)
        self.block(node.orelse, set(assigned), guarded)
        return assigned

    def _for(self, node: ast.For, assigned: set[str], guarded: bool) -> set[str]:
        self.read(node.iter, assigned, guarded)
        self.block(node.body, assigned | _target_names(node.target), guarded)
        self.block(node.orelse, set(assigned), guarded)
        return assigned

    def _try(self, node: ast.Try, assigned: set[str], guarded: bool) -> set[str]:
        catches = any(_catches_name_error(handler.type) for handler in node.handlers)
        after_body = self.block(node.body, set(assigned), guarded or catches)
        outcomes = [self.block(node.orelse, after_body, guarded)]
        for handler in node.handlers:
            self.read(handler.type, assigned, guarded)
            outcomes.append(self.block(handler.body, assigned | ({handler.name} if handler.name else set()),
                                       guarded))
        return self.block(node.finalbody, set.intersection(*outcomes), guarded)

    def _with(self, node: ast.With, assigned: set[str], guarded: bool) -> set[str]:
        for item in node.items:
            self.read(item.context_expr, assigned, guarded)
            if item.optional_vars is not None:
                assigned = self._assign_targets([item.optional_vars], assigned, guarded)
        return self.block(node.body, assigned, guarded)

    def _delete(self, node: ast.Delete, assigned: set[str], guarded: bool) -> set[str]:
        for target in node.targets:
            if isinstance(target, ast.Name):
                assigned = assigned - {target.id}
                self.deleted.add(target.id)
            else:
                self.read(target, assigned, guarded)
        return assigned

    def _functiondef(self, node: ast.FunctionDef, assigned: set[str], guarded: bool) -> set[str]:
        for default in (*node.args.defaults, *node.args.kw_defaults):
            self.read(default, assigned, guarded)
        return assigned | {node.name}

    def _global(self, node: ast.Global, assigned: set[str], guarded: bool) -> set[str]:
        return assigned


def _catches_name_error(handler_type: ast.expr | None) -> bool:
    if handler_type is None:
        return True
    names = [handler_type] if not isinstance(handler_type, ast.Tuple) else list(handler_type.elts)
    return any(isinstance(name, ast.Name) and name.id in GUARDING_EXCEPTIONS for name in names)


# ---------------------------------------------------------------- instruction templates


_PARSER = Environment(autoescape=True)  # parsing only: the filters and tests need not exist here


@lru_cache(maxsize=2048)
def template_reads(text: str) -> frozenset[str]:
    """Names a Jinja instruction text reads outside ``{% if x is defined %}``-style guards and ``default``."""
    try:
        shared, sections = language_sections(text or "")
    except InstructionsError:
        return frozenset()
    found: set[str] = set()
    for piece in (shared, *sections.values()):
        try:
            template = _PARSER.parse(piece)
        except TemplateSyntaxError:
            continue  # instruction_problems reports it
        stored = {node.name for node in template.find_all(nodes.Name) if node.ctx in ("store", "param")}
        _template_reads(template, frozenset(stored | {"loop", "caller", "varargs", "kwargs"}), found)
    return frozenset(found - NOT_VARIABLES)


def _template_reads(node: nodes.Node, safe: frozenset[str], found: set[str]) -> None:
    if isinstance(node, nodes.Name):
        if node.ctx == "load" and node.name not in safe:
            found.add(node.name)
        return
    if isinstance(node, nodes.Test) and node.name in ("defined", "undefined") and isinstance(node.node, nodes.Name):
        return
    if isinstance(node, nodes.Filter) and node.name in ("default", "d"):
        for child in (*node.args, *node.kwargs):
            _template_reads(child, safe, found)
        return
    if isinstance(node, nodes.If):
        _test_reads(node.test, safe, found)
        for child in node.body:
            _template_reads(child, safe | _guards(node.test, True), found)
        for child in (*node.elif_, *node.else_):
            _template_reads(child, safe | _guards(node.test, False), found)
        return
    if isinstance(node, nodes.CondExpr):
        _test_reads(node.test, safe, found)
        _template_reads(node.expr1, safe | _guards(node.test, True), found)
        if node.expr2 is not None:
            _template_reads(node.expr2, safe | _guards(node.test, False), found)
        return
    if isinstance(node, (nodes.And, nodes.Or)):
        _template_reads(node.left, safe, found)
        _template_reads(node.right, safe | _guards(node.left, isinstance(node, nodes.And)), found)
        return
    for child in node.iter_child_nodes():
        _template_reads(child, safe, found)


def _test_reads(test: nodes.Node, safe: frozenset[str], found: set[str]) -> None:
    """Reads of an ``if`` test: a bare name there is a guard (a missing value is false), not a read."""
    if isinstance(test, nodes.Name):
        return
    if isinstance(test, nodes.Not):
        _test_reads(test.node, safe, found)
        return
    if isinstance(test, (nodes.And, nodes.Or)):
        _test_reads(test.left, safe, found)
        _test_reads(test.right, safe | _guards(test.left, isinstance(test, nodes.And)), found)
        return
    _template_reads(test, safe, found)


def _guards(test: nodes.Node, truth: bool) -> frozenset[str]:
    """Names known to be defined when ``test`` has the value ``truth`` (``x is defined``, or plain ``x``)."""
    if isinstance(test, nodes.Name):
        return frozenset({test.name}) if truth else frozenset()
    if isinstance(test, nodes.Test) and isinstance(test.node, nodes.Name):
        if (test.name == "defined" and truth) or (test.name == "undefined" and not truth):
            return frozenset({test.node.name})
        return frozenset()
    if isinstance(test, nodes.Not):
        return _guards(test.node, not truth)
    if isinstance(test, nodes.And) and truth:
        return _guards(test.left, True) | _guards(test.right, True)
    if isinstance(test, nodes.Or) and not truth:
        return _guards(test.left, False) | _guards(test.right, False)
    return frozenset()


# ---------------------------------------------------------------- the graph


@dataclass
class _Node:
    element_id: str | None  # None: a point of the graph that is no element (a process's entry)
    file: str
    sets: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    reads: tuple[tuple[str, frozenset[str]], ...] = ()  # (what reads, names), evaluated before ``sets``
    successors: list[int] = field(default_factory=list)


class _Graph:
    def __init__(self, library: Library) -> None:
        self.library = library
        self.nodes: list[_Node] = []
        self.incomplete = False  # a form, table or called process is missing: what it sets is unknown

    def add(self, element_id: str | None, file: str, **kwargs: object) -> int:
        self.nodes.append(_Node(element_id, file, **kwargs))  # type: ignore[arg-type]
        return len(self.nodes) - 1

    def edge(self, source: int, target: int) -> None:
        self.nodes[source].successors.append(target)

    def process(self, process_id: str, stack: tuple[str, ...]) -> tuple[int, list[int]]:
        """The entry node of a process and its end nodes."""
        info = self.library.processes[process_id]
        entry = self.add(None, info.file)
        ends = self.container(info.node, info.file, entry, (*stack, process_id))
        return entry, ends

    def container(self, container: etree._Element, file: str, entry: int, stack: tuple[str, ...]) -> list[int]:
        """Build the elements of a process or sub-process; return the nodes its end events finish in."""
        spans: dict[str, tuple[int, int]] = {}
        ends: list[int] = []
        for element in container:
            if not isinstance(element.tag, str) or etree.QName(element).namespace != NS["bpmn"]:
                continue
            local = etree.QName(element).localname
            if local not in _FLOW_NODES or not element.get("id"):
                continue
            spans[element.get("id", "")] = self.element(element, local, file, entry, stack)
            if local == "startEvent" and container.get("triggeredByEvent") != "true":
                self.edge(entry, spans[element.get("id", "")][0])
            if local == "endEvent":
                ends.append(spans[element.get("id", "")][1])
        for element in container:
            if isinstance(element.tag, str) and element.tag == bpmn_tag("boundaryEvent"):
                attached = spans.get(element.get("attachedToRef", ""))
                if attached is not None and element.get("id") in spans:
                    self.edge(attached[0], spans[element.get("id", "")][0])  # what was set when it began
            if isinstance(element.tag, str) and element.tag == bpmn_tag("subProcess") \
                    and element.get("triggeredByEvent") == "true" and element.get("id") in spans:
                self.edge(entry, spans[element.get("id", "")][0])
        for flow in container.iterfind("bpmn:sequenceFlow", NS):
            self.sequence_flow(flow, file, spans)
        return ends

    def sequence_flow(self, flow: etree._Element, file: str, spans: dict[str, tuple[int, int]]) -> None:
        source, target = spans.get(flow.get("sourceRef", "")), spans.get(flow.get("targetRef", ""))
        if source is None or target is None:
            return
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is None or not (condition.text or "").strip():
            self.edge(source[1], target[0])
            return
        middle = self.add(flow.get("id"), file, reads=(("condition", frozenset(expression_reads(condition.text))),))
        self.edge(source[1], middle)
        self.edge(middle, target[0])

    def element(self, element: etree._Element, local: str, file: str, entry: int,
                stack: tuple[str, ...]) -> tuple[int, int]:
        """The first and last node of one element: begin → [preScript] → body → [postScript]."""
        element_id = element.get("id", "")
        local_names = _loop_variables(element)
        begin = self.add(element_id, file)
        last = begin
        pre = spiff_extension(element, "preScript")
        if pre:
            last = self.chain(last, self.script_node(element_id, file, "preScript", pre, local_names))
        last = self.body(element, local, file, last, local_names, stack)
        post = spiff_extension(element, "postScript")
        if post:
            last = self.chain(last, self.script_node(element_id, file, "postScript", post, local_names))
        return begin, last

    def chain(self, source: int, target: int) -> int:
        self.edge(source, target)
        return target

    def script_node(self, element_id: str, file: str, what: str, text: str, local_names: set[str]) -> int:
        effect = script_effect(text)
        return self.add(element_id, file, sets=frozenset(effect.sets), deletes=frozenset(effect.deletes),
                        reads=((what, frozenset(effect.reads - local_names)),))

    def body(self, element: etree._Element, local: str, file: str, last: int, local_names: set[str],
             stack: tuple[str, ...]) -> int:
        element_id = element.get("id", "")
        if local == "scriptTask":
            script = element.find("bpmn:script", NS)
            return self.chain(last, self.script_node(element_id, file, "script",
                                                     script.text if script is not None else "", local_names))
        if local in ("userTask", "startEvent", "manualTask"):
            return self.chain(last, self.add(element_id, file, sets=frozenset(self.required_fields(element)),
                                             reads=_task_reads(element, local_names)))
        if local == "businessRuleTask":
            reads, outputs = self.decision(spiff_extension(element, "calledDecisionId") or "")
            return self.chain(last, self.add(element_id, file, sets=frozenset(outputs),
                                             reads=(("decision input", frozenset(reads - local_names)),)))
        if local in ("subProcess", "transaction") and element.get("triggeredByEvent") != "true":
            ends = self.container(element, file, last, stack)
            return self.join(ends, element_id, file)
        if local == "subProcess":
            self.container(element, file, last, stack)
            return last
        if local == "callActivity":
            return self.call(element, file, last, stack)
        if local in ("boundaryEvent", "intermediateCatchEvent", "receiveTask"):
            caught = _message_variables(element)  # a caught message's payload lands in its variable
            return self.chain(last, self.add(element_id, file, sets=caught)) if caught else last
        return last

    def join(self, ends: list[int], element_id: str, file: str) -> int:
        done = self.add(element_id, file)
        for end in ends:
            self.edge(end, done)
        return done

    def call(self, element: etree._Element, file: str, last: int, stack: tuple[str, ...]) -> int:
        called = element.get("calledElement", "")
        if called not in self.library.processes:
            self.incomplete = True  # the reference check names it
            return last
        if called in stack or len(stack) > MAX_CALL_DEPTH:
            return last  # a recursive call adds nothing the first call does not set
        entry, ends = self.process(called, stack)
        self.edge(last, entry)
        return self.join(ends, element.get("id", ""), file)

    def required_fields(self, element: etree._Element) -> set[str]:
        name = spiff_properties(element).get(FORM_PROPERTY, "")
        schema = self.library.forms.get(name)
        if not isinstance(schema, dict):
            self.incomplete = self.incomplete or bool(name)  # unreadable or missing: its own problem says so
            return set()
        required = schema.get("required") or []
        return {name for name in required if isinstance(name, str)}

    def decision(self, decision_id: str) -> tuple[set[str], set[str]]:
        """What a decision's input expressions read and the outputs it sets."""
        root = self.library.dmn.get(self.library.decisions.get(decision_id, ""))
        if root is None:
            self.incomplete = True
            return set(), set()
        ns = {"dmn": etree.QName(root).namespace or ""}
        reads: set[str] = set()
        outputs: set[str] = set()
        for decision in root.iterfind("dmn:decision", ns):
            if decision.get("id") != decision_id:
                continue
            for text in decision.iterfind(".//dmn:input/dmn:inputExpression/dmn:text", ns):
                reads |= expression_reads(text.text or "")
            outputs |= {output.get("name", "") for output in decision.iterfind(".//dmn:output", ns)}
        return reads, outputs


def _task_reads(element: etree._Element, local_names: set[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    reads: list[tuple[str, frozenset[str]]] = []
    properties = spiff_properties(element)
    for name in EXPRESSION_PROPERTIES:
        if properties.get(name):
            reads.append((f"property '{name}'", frozenset(expression_reads(properties[name]) - local_names)))
    instructions = spiff_extension(element, "instructionsForEndUser")
    if instructions:
        reads.append(("instructions", frozenset(template_reads(instructions) - local_names)))
    return tuple(reads)


def _message_variables(element: etree._Element) -> frozenset[str]:
    """The ``spiffworkflow:messageVariable`` of a message catch event or receive task (the payload is set there);
    a receive task names its message with ``messageRef`` and keeps the variable in its own extensions."""
    names = element.xpath("bpmn:messageEventDefinition//spiffworkflow:messageVariable/text()"
                          " | bpmn:extensionElements/spiffworkflow:messageVariable/text()", namespaces=NS)
    return frozenset(str(name).strip() for name in names if str(name).strip())


def _loop_variables(element: etree._Element) -> set[str]:
    """The names a multi-instance activity gives each instance (its input and output items)."""
    names: set[str] = set()
    for loop in element.iterfind("bpmn:multiInstanceLoopCharacteristics", NS):
        for item in (*loop.iterfind("bpmn:inputDataItem", NS), *loop.iterfind("bpmn:outputDataItem", NS)):
            names |= {value for value in (item.get("name"), item.get("id")) if value}
        for ref in (*loop.iterfind("bpmn:loopDataInputRef", NS), *loop.iterfind("bpmn:loopDataOutputRef", NS)):
            names.add((ref.text or "").strip())
    return names


# ---------------------------------------------------------------- the analysis


def start_variables_of(library: Library, process_id: str) -> set[str]:
    """The names a process declares its starter sets (the ``startVariables`` process property)."""
    declared = spiff_properties(library.processes[process_id].node).get(START_VARIABLES_PROPERTY, "")
    return {name.strip() for name in declared.replace(";", ",").split(",") if name.strip()}


def check_dataflow(library: Library, process_id: str, start_variables: Iterable[str] = ()) -> list[Finding]:
    """Every variable some element of the bundle of ``process_id`` reads on a path that does not set it."""
    graph = _Graph(library)
    entry, _ = graph.process(process_id, ())
    if graph.incomplete:
        return []  # the bundle is refused for what is missing; guessing what it would set helps nobody
    start = frozenset(start_variables) | start_variables_of(library, process_id)
    before = _must_sets(graph, entry, start)
    findings: dict[tuple[str, str, str], Finding] = {}
    for index, node in enumerate(graph.nodes):
        known = before[index]
        if known is None or node.element_id is None:
            continue  # unreachable: the reachability check names it
        for what, names in node.reads:
            for variable in sorted(names - known):
                key = (node.file, node.element_id, variable)
                if key not in findings:
                    path = _path_without(graph, entry, index, variable, start)
                    findings[key] = Finding(node.file, node.element_id, variable, what, path)
    return list(findings.values())


def dataflow_problems(library: Library, process_id: str, start_variables: Iterable[str] = ()) -> list[Problem]:
    return [finding.problem() for finding in check_dataflow(library, process_id, start_variables)]


def _must_sets(graph: _Graph, entry: int, start: frozenset[str]) -> list[frozenset[str] | None]:
    """For each node, what is set on every path that reaches it (None: no path reaches it)."""
    before: list[frozenset[str] | None] = [None] * len(graph.nodes)
    before[entry] = start
    pending = deque([entry])
    while pending:
        index = pending.popleft()
        node = graph.nodes[index]
        current = before[index]
        assert current is not None
        after = (current - node.deletes) | node.sets
        for successor in node.successors:
            known = before[successor]
            merged = after if known is None else known & after
            if merged != known:
                before[successor] = merged
                pending.append(successor)
    return before


def _path_without(graph: _Graph, entry: int, target: int, variable: str, start: frozenset[str]) -> tuple[str, ...]:
    """One path from the entry to ``target`` on which ``variable`` is not set when ``target`` runs."""
    initial = (entry, variable in start)
    parents: dict[tuple[int, bool], tuple[int, bool] | None] = {initial: None}
    pending = deque([initial])
    while pending:
        index, is_set = pending.popleft()
        if index == target and not is_set:
            return _element_path(graph, _unwind(parents, (index, is_set)))
        node = graph.nodes[index]
        after = True if variable in node.sets else (False if variable in node.deletes else is_set)
        for successor in node.successors:
            state = (successor, after)
            if state not in parents:
                parents[state] = (index, is_set)
                pending.append(state)
    return _element_path(graph, [target])


def _unwind(parents: dict[tuple[int, bool], tuple[int, bool] | None], state: tuple[int, bool]) -> list[int]:
    indices = []
    current: tuple[int, bool] | None = state
    while current is not None:
        indices.append(current[0])
        current = parents[current]
    return indices[::-1]


def _element_path(graph: _Graph, indices: Iterable[int]) -> tuple[str, ...]:
    path: list[str] = []
    for index in indices:
        element_id = graph.nodes[index].element_id
        if element_id is not None and (not path or path[-1] != element_id):
            path.append(element_id)
    return tuple(path)


def iter_findings(library: Library, start_variables: dict[str, Iterable[str]]) -> Iterator[Finding]:
    """The findings of every top-level process of ``library`` (``start_variables`` per process id)."""
    for process_id in library.top_level_process_ids():
        yield from check_dataflow(library, process_id, start_variables.get(process_id, ()))
