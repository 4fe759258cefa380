"""What a form's JSON Schema may hold beyond the meta-schema, so that checking a submission stays cheap and local.

- JSON nested at most ``MAX_JSON_DEPTH`` levels (forms and request bodies alike): deeper text would exhaust
  Python's stack while being parsed or validated;
- ``pattern``s compiled by RE2 (google-re2), which matches in linear time: no pattern can backtrack
  exponentially (``^(a+)+$``). RE2 keeps the ECMA-262 meaning that matters here: ``\\d`` and ``\\w`` are
  ASCII, and ``$`` is the end of the text. What RE2 cannot run (look-arounds, back-references) is refused;
- ``$ref``s inside the form only (``#/...``): validation never fetches anything (the registry retrieves nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import re2
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

MAX_JSON_DEPTH = 64
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported as a problem, not logged by RE2 to stderr


class JsonTooDeepError(ValueError):
    """JSON nested deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"nested more than {limit} levels deep")
        self.limit = limit


def load_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON; raise json.JSONDecodeError (or UnicodeDecodeError) when malformed, JsonTooDeepError when
    nested deeper than ``max_depth`` (Python's parser would otherwise run out of stack on deep enough text)."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise JsonTooDeepError(max_depth) from exc
    if json_depth(value) > max_depth:
        raise JsonTooDeepError(max_depth)
    return value


def json_depth(value: Any) -> int:
    """How many arrays and objects nest at the deepest point (a scalar is 0); iterative, so any depth is safe."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest


class PatternError(ValueError):
    """A ``pattern`` RE2 cannot compile; the message says why."""


@lru_cache(maxsize=512)
def compiled_pattern(pattern: str) -> Any:
    """The RE2 program of a JSON Schema ``pattern``; raise PatternError."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        raise PatternError(reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)) from exc


def matches_pattern(pattern: str, text: str) -> bool:
    """Whether ``text`` holds a match of ``pattern`` anywhere (JSON Schema patterns are not anchored)."""
    return compiled_pattern(pattern).search(text) is not None


def _refuse_retrieval(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # ref is an attrs field mypy does not see


def local_registry() -> Registry[Any]:
    """A registry that fetches nothing: a ``$ref`` resolves inside the form or not at all."""
    return Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]  # retrieve is an attrs field mypy misses


def form_schema_problems(schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for every pattern RE2 cannot compile and every ``$ref`` outside the form."""
    return [(_field_of(pointer), message) for pointer, message in _walk_problems(schema)]


def _walk_problems(schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    pending: list[tuple[Any, str]] = [(schema, "")]
    while pending:
        node, pointer = pending.pop()
        if isinstance(node, list):
            pending.extend((child, f"{pointer}/{index}") for index, child in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        yield from _node_problems(node, pointer)
        pending.extend((child, f"{pointer}/{_escaped(str(key))}") for key, child in node.items())


def _node_problems(node: Mapping[str, Any], pointer: str) -> Iterator[tuple[str, str]]:
    patterns = [(f"{pointer}/pattern", node["pattern"])] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), dict):
        patterns += [(f"{pointer}/patternProperties", key) for key in node["patternProperties"]]
    for where, pattern in patterns:
        try:
            compiled_pattern(pattern)
        except PatternError as exc:
            yield where, f"pattern {pattern!r} at {where} cannot be matched without backtracking: {exc}"
    for keyword in ("$ref", "$dynamicRef"):
        reference = node.get(keyword)
        if isinstance(reference, str) and not reference.startswith("#"):
            yield pointer, (f"{keyword} {reference!r} at {pointer or '/'} leaves the form: "
                            "only references inside it (#/...) are allowed")


def _field_of(pointer: str) -> str:
    """The form field a pointer lies in (``/properties/phone/pattern`` -> ``phone``), else the pointer."""
    parts = pointer.split("/")
    if len(parts) > 2 and parts[1] == "properties":
        return parts[2].replace("~1", "/").replace("~0", "~")
    return pointer or "/"


def _escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
