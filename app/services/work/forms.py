"""Checking a submission against its form: declared fields only, readOnly never taken, per-field errors."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from app.engine import fill_instructions
from app.services.errors import InvalidFormError
from app.services.work.form_rules import FormContext, context_errors

_FORMAT_CHECKER = FormatChecker()


def _decimal_multiple_of(validator: Any, step: Any, instance: Any, _schema: Any) -> Iterator[ValidationError]:
    # Money is "multipleOf": 0.01; float division says 19.99 is not a multiple of 0.01, decimals say it is.
    if not validator.is_type(instance, "number"):
        return
    try:
        is_multiple = Decimal(str(instance)) % Decimal(str(step)) == 0
    except InvalidOperation:  # beyond decimal precision (1e30 % 0.01): no money amount is that large
        is_multiple = False
    if not is_multiple:
        yield ValidationError(f"{instance} is not a multiple of {step}")


@lru_cache(maxsize=512)
def _ecma_pattern(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262: \d is [0-9] and \w is [A-Za-z0-9_]. Python's str patterns match
    # any Unicode digit, so "1３８…" in Devanagari or full-width digits would pass as a phone number.
    return re.compile(pattern, re.ASCII)


def _ascii_pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


FormValidator = validators.extend(Draft202012Validator, {"multipleOf": _decimal_multiple_of,
                                                         "pattern": _ascii_pattern})
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}


def clean_submission(schema: Mapping[str, Any] | None, data: Any, *,
                     context: FormContext | None = None) -> dict[str, Any]:
    """Return the data to hand to the engine; raise InvalidFormError with per-field messages.

    With a ``context`` (a task's submission) the form's ``x-`` rules run too (``form_rules.py``).
    """
    if not isinstance(data, dict):
        raise InvalidFormError("提交的数据必须是对象 / data must be an object", errors={"data": "must be an object"})
    if schema is None:
        if data:
            raise InvalidFormError("此步骤没有表单，只能空提交 / this step has no form: submit no data",
                                   errors={key: "not a field of this form" for key in data})
        return {}
    properties: Mapping[str, Any] = schema.get("properties") or {}
    undeclared = {key: "not a field of this form" for key in data if key not in properties}
    if undeclared:
        raise InvalidFormError("提交了表单未声明的字段 / undeclared fields submitted", errors=undeclared)
    taken = {key: value for key, value in data.items() if not properties[key].get("readOnly")}
    errors = {key: "不能包含空字符 / must not contain NUL characters" for key, value in taken.items()
              if _holds_nul(value)} or _field_errors(schema, taken)
    if not errors and context is not None:
        errors = context_errors(schema, taken, context)
    if errors:
        raise InvalidFormError("表单填写有误 / the form has errors", errors=errors)
    return taken


def _field_errors(schema: Mapping[str, Any], data: dict[str, Any]) -> dict[str, str]:
    validator = _validator_for(schema)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        for path in _error_paths(error):
            errors.setdefault(path, _message(error))
    return errors


def _validator_for(schema: Mapping[str, Any]) -> Any:
    # Forms come from immutable bundles cached for the life of the process, so the schema object
    # itself is a safe key; building a validator costs more than validating a submission.
    key = id(schema)
    cached = _VALIDATORS.get(key)
    if cached is None or cached[0] is not schema:
        cached = (schema, FormValidator(_without_read_only_required(schema), format_checker=_FORMAT_CHECKER))
        _VALIDATORS[key] = cached
    return cached[1]


def _without_read_only_required(schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = [name for name in schema.get("required", []) if not properties.get(name, {}).get("readOnly")]
    return {**schema, "required": required}


def _error_paths(error: ValidationError) -> list[str]:
    """Dotted paths of the fields at fault: every missing one for ``required``."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.validator_value, list):
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [name for name in error.validator_value if name not in present]
        if missing:
            return [".".join([*path, name]) for name in missing]
    return [".".join(path) or "data"]


def _message(error: ValidationError) -> str:
    """A field's error as "中文 / English" (the console shows one side), never the validator's English jargon."""
    rule, limit = str(error.validator), error.validator_value
    if rule == "format":
        return _FORMAT_MESSAGES.get(str(limit), "格式不正确 / not in the expected format")
    if rule == "type":
        kinds = limit if isinstance(limit, list) else [limit]
        return next((_TYPE_MESSAGES[kind] for kind in kinds if kind in _TYPE_MESSAGES), "填写有误 / invalid value")
    if rule == "multipleOf" and str(limit) == "0.01":
        return "最多两位小数 / at most two decimals"
    template = _MESSAGES.get(rule)
    if template is None:
        return f"填写有误 / invalid value: {error.message}"
    return template.format(limit=limit)


_MESSAGES = {
    "required": "必填 / required",
    "pattern": "格式不正确 / not in the expected format",
    "minLength": "至少 {limit} 个字 / at least {limit} characters",
    "maxLength": "最多 {limit} 个字 / at most {limit} characters",
    "minimum": "不能小于 {limit} / must be at least {limit}",
    "maximum": "不能大于 {limit} / must be at most {limit}",
    "exclusiveMinimum": "必须大于 {limit} / must be more than {limit}",
    "exclusiveMaximum": "必须小于 {limit} / must be less than {limit}",
    "multipleOf": "必须是 {limit} 的整数倍 / must be a multiple of {limit}",
    "oneOf": "请从列表中选择 / choose one of the list",
    "enum": "请从列表中选择 / choose one of the list",
    "const": "请从列表中选择 / choose one of the list",
    "minItems": "至少选 {limit} 项 / choose at least {limit}",
    "maxItems": "最多选 {limit} 项 / choose at most {limit}",
}
_TYPE_MESSAGES = {
    "integer": "请输入整数 / enter a whole number", "number": "请输入数字 / enter a number",
    "boolean": "请选择是或否 / choose yes or no", "string": "请输入文字 / enter text",
    "object": "填写有误 / invalid value", "array": "填写有误 / invalid value",
}
_FORMAT_MESSAGES = {
    "date": "日期不正确 / not a valid date", "date-time": "日期时间不正确 / not a valid date and time",
    "email": "邮箱格式不正确 / not a valid e-mail address",
}


def render_instructions(markdown: str | None, data: Mapping[str, Any], *, locale: str = "zh",
                        timezone: str | None = None,
                        forms: Mapping[str, Mapping[str, Any]] | None = None) -> str | None:
    """A task's Markdown instructions for one reader: their language's section filled with the task data.

    Date-times are shown in ``timezone`` (the business time zone); ``forms`` (the bundle's forms) give
    the ``label`` filter the titles of coded choices. Sections and filters: ``app/engine/instructions.py``.
    """
    if not markdown:
        return None
    return fill_instructions(markdown, data, language=locale, timezone=timezone,
                               choices=choice_titles(forms or {}))


def choice_titles(forms: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Field name -> choice const -> "中文 / English" title, over every form (the first form naming a const wins)."""
    titles: dict[str, dict[str, str]] = {}
    for schema in forms.values():
        for name, spec in (schema.get("properties") or {}).items():
            for choice in spec.get("oneOf") or ():
                if isinstance(choice, dict) and "const" in choice and choice.get("title"):
                    titles.setdefault(name, {}).setdefault(str(choice["const"]), str(choice["title"]))
    return titles


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False
