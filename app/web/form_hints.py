"""What a form's schema tells the person filling it in before they send it: which fields become required
when (``if``/``then``/``else``, ``dependentRequired``, ``x-rules``), and the format a field expects.

The renderer (``form_fields``) puts both next to each field; ``static/task-form.js`` turns a conditional
asterisk on as soon as its condition holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from app.services.errors import msg
from app.web.i18n import bilingual

# A condition is a list of alternatives; an alternative is {field: test}; a test is a const, or one of
# {"$in": [...]}, {"$not": const}, {"$present": true}, {"$absent": true}.
Alternative = dict[str, Any]

MOBILE_PATTERNS = {r"^1[3-9]\d{9}$", r"^1\d{10}$"}
# Message ids (said in the page's ``locale`` by ``bilingual``); a form's own ``x-hint`` is a "中文 / English" label.
PHONE_HINT = msg("an 11-digit mobile, or a landline (0571-88886666)")
MOBILE_HINT = msg("an 11-digit mobile number")
FORMAT_HINTS = {
    "date": msg("a date, e.g. 2026-03-02"),
    "date-time": msg("a date and time, e.g. 2026-03-02 09:00"),
    "email": msg("an e-mail address, e.g. name@example.com"),
}
MONEY_HINT = msg("an amount in yuan, at most two decimals")
INTEGER_HINT = msg("a whole number")


def format_hint(spec: Mapping[str, Any], widget: str, locale: str) -> str:
    """The expected format in words: the form's own ``x-hint``, else one read from its pattern, format or widget."""
    if spec.get("x-hint"):
        return bilingual(str(spec["x-hint"]), locale)
    pattern = spec.get("pattern")
    if pattern in MOBILE_PATTERNS:
        return bilingual(MOBILE_HINT, locale)
    if widget == "phone":
        return bilingual(PHONE_HINT, locale)
    if widget == "money":
        return bilingual(MONEY_HINT, locale)
    if spec.get("type") == "integer" and not spec.get("oneOf"):
        return bilingual(INTEGER_HINT, locale)
    hint = FORMAT_HINTS.get(str(spec.get("format", "")))
    return bilingual(hint, locale) if hint else ""


def required_when(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, list[Alternative]]:
    """For each field required only under a condition, the alternatives under which it is.

    A clause on a field the person cannot change (read-only, or not on the form) is decided now from
    ``data``: a clause that holds is dropped, an alternative with a false clause is dropped. An empty
    alternative left over means the field is required whatever is chosen.
    """
    properties = schema.get("properties") or {}
    editable = {name for name, spec in properties.items() if not spec.get("readOnly")}
    found: dict[str, list[Alternative]] = {}
    for alternative, names in _requirements(schema):
        decided = _decide(alternative, editable, data)
        if decided is None:
            continue
        for name in names:
            if name in editable:
                found.setdefault(name, []).append(decided)
    return found


def _requirements(schema: Mapping[str, Any]) -> Iterator[tuple[Alternative, list[str]]]:
    for rule in [schema, *(schema.get("allOf") or [])]:
        condition = rule.get("if")
        if not isinstance(condition, Mapping):
            continue
        when = _clauses(condition)
        if when is None:
            continue
        yield when, list((rule.get("then") or {}).get("required") or [])
        if len(when) == 1 and rule.get("else"):  # the negation of one clause is one clause
            yield _negated(when), list(rule["else"].get("required") or [])
    for trigger, names in (schema.get("dependentRequired") or {}).items():
        yield {trigger: {"$present": True}}, list(names)
    for rule in schema.get("x-rules") or []:
        if rule.get("required") and isinstance(rule.get("when"), Mapping):
            yield dict(rule["when"]), list(rule["required"])


def _clauses(condition: Mapping[str, Any]) -> Alternative | None:
    """``if: {properties: {x: {const: …}}, required: [x], not: {required: [y]}}`` as clauses (None: not so simple)."""
    clauses: Alternative = {}
    for name, test in (condition.get("properties") or {}).items():
        if "const" in test:
            clauses[name] = test["const"]
        elif "enum" in test:
            clauses[name] = {"$in": list(test["enum"])}
        else:
            return None
    for name in condition.get("required") or []:
        clauses.setdefault(name, {"$present": True})
    for name in ((condition.get("not") or {}).get("required") or []):
        clauses[name] = {"$absent": True}
    return clauses or None


def _negated(when: Alternative) -> Alternative:
    ((name, test),) = when.items()
    if isinstance(test, Mapping) and "$present" in test:
        return {name: {"$absent": True}}
    if isinstance(test, Mapping):
        return {name: {"$present": True}}  # "not one of" is left as "once answered": a hint, not the check
    return {name: {"$not": test}}


def _decide(alternative: Alternative, editable: set[str], data: Mapping[str, Any]) -> Alternative | None:
    left: Alternative = {}
    for name, test in alternative.items():
        if name in editable:
            left[name] = test
        elif not holds(test, data.get(name)):
            return None
    return left


def holds(test: Any, value: Any) -> bool:
    """Whether a value passes one clause (``None``: not given)."""
    if isinstance(test, Mapping):
        if "$in" in test:
            return value in test["$in"]
        if "$not" in test:
            return value is not None and value != test["$not"]
        if "$present" in test:
            return value not in (None, "")
        return value in (None, "")
    return value == test and type(value) is type(test)


def condition_text(alternatives: list[Alternative], labels: Mapping[str, str],
                   choices: Mapping[str, Mapping[str, str]], locale: str) -> str:
    """"改约为“是”时必填" / "Required when Reschedule is Yes", from the alternatives and the fields' labels."""
    english = locale == "en"
    parts = []
    for alternative in alternatives:
        clauses = [_clause_text(labels.get(name, name), test, choices.get(name, {}), english)
                   for name, test in alternative.items()]
        parts.append((" and " if english else "、").join(clauses))
    joined = ("; or " if english else "；或").join(part for part in parts if part)
    return f"Required when {joined}" if english else f"{joined}时必填"


def _clause_text(label: str, test: Any, choices: Mapping[str, str], english: bool) -> str:
    def said(value: Any) -> str:
        if isinstance(value, bool):
            return ("Yes" if value else "No") if english else ("是" if value else "否")
        return choices.get(str(value), str(value))

    if isinstance(test, Mapping) and "$in" in test:
        values = (" or " if english else "或").join(said(value) for value in test["$in"])
        return f"{label} is {values}" if english else f"{label}为{values}"
    if isinstance(test, Mapping) and "$not" in test:
        return f"{label} is not {said(test['$not'])}" if english else f"{label}不为“{said(test['$not'])}”"
    if isinstance(test, Mapping):
        filled = "$present" in test
        if english:
            return f"{label} is {'filled in' if filled else 'empty'}"
        return f"已填{label}" if filled else f"未填{label}"
    return f"{label} is {said(test)}" if english else f"{label}为“{said(test)}”"


_PLAIN_LABEL = re.compile(r"\s+")


def short_label(label: str) -> str:
    """A field's label as a banner names it: one line, no trailing colon."""
    return _PLAIN_LABEL.sub(" ", label).strip().rstrip(":：")
