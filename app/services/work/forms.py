"""Checking a submission against its form: declared fields only, readOnly never taken, per-field errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable
from sqlalchemy import select

from app.engine import (
    JsonTooDeepError,
    PatternError,
    fill_instructions,
    load_json,
    local_registry,
    matches_pattern,
)
from app.extensions import db
from app.models import Project, User
from app.services.errors import InvalidFormError, Message, Text, msg
from app.services.work.form_rules import REQUIRED, FormContext, context_errors

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


def _linear_pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[ValidationError]:
    # RE2 (app/engine/form_schema.py): linear time whatever the pattern, \d and \w ASCII as in ECMA-262, so
    # "1３８…" in full-width digits never passes as a phone number. The deploy refuses what RE2 cannot compile;
    # a form deployed before that check with such a pattern refuses the value rather than failing the request.
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = matches_pattern(pattern, instance)
    except PatternError:
        matched = False
    if not matched:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


FormValidator = validators.extend(Draft202012Validator, {"multipleOf": _decimal_multiple_of,
                                                         "pattern": _linear_pattern})
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}
NOT_A_FIELD = msg("not a field of this form")


def clean_submission(schema: Mapping[str, Any] | None, data: Any, *,
                     context: FormContext | None = None) -> dict[str, Any]:
    """Return the data to hand to the engine; raise InvalidFormError with per-field messages.

    With a ``context`` (a task's submission) the form's ``x-`` rules run too (``form_rules.py``).
    """
    if not isinstance(data, dict):
        raise InvalidFormError(msg("data must be an object"), errors={"data": msg("must be an object")})
    if schema is None:
        if data:
            raise InvalidFormError(msg("this step has no form: submit no data"),
                                   errors={key: NOT_A_FIELD for key in data})
        return {}
    properties: Mapping[str, Any] = schema.get("properties") or {}
    undeclared = {key: NOT_A_FIELD for key in data if key not in properties}
    if undeclared:
        raise InvalidFormError(msg("undeclared fields submitted"), errors=undeclared)
    taken = {key: value for key, value in data.items() if not properties[key].get("readOnly")}
    errors: dict[str, Message] = {key: msg("must not contain NUL characters") for key, value in taken.items()
              if _holds_nul(value)} or _field_errors(schema, taken)
    if not errors and context is not None:
        errors = context_errors(schema, taken, context)
    if errors:
        raise InvalidFormError(msg("the form has errors"), errors=errors)
    return taken


def _field_errors(schema: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Message]:
    validator = _validator_for(schema)
    errors: dict[str, Message] = {}
    try:
        found = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path])
    except Unresolvable:  # a form deployed before non-local $refs were refused: nothing is fetched
        return {"data": msg("the form refers to a schema outside itself; ask a designer to fix it")}
    for error in found:
        for path in _error_paths(error):
            errors.setdefault(path, _message(error))
    return errors


def _validator_for(schema: Mapping[str, Any]) -> Any:
    # Forms come from immutable bundles cached for the life of the process, so the schema object
    # itself is a safe key; building a validator costs more than validating a submission.
    key = id(schema)
    cached = _VALIDATORS.get(key)
    if cached is None or cached[0] is not schema:
        cached = (schema, FormValidator(_without_read_only_required(schema), format_checker=_FORMAT_CHECKER,
                                        registry=local_registry()))  # a $ref is never fetched
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


def _message(error: ValidationError) -> Text:
    """A field's error as a message id (the web says it in the reader's language), never the validator's jargon."""
    rule, limit = str(error.validator), error.validator_value
    if rule == "format":
        return _FORMAT_MESSAGES.get(str(limit), msg("not in the expected format"))
    if rule == "type":
        kinds = limit if isinstance(limit, list) else [limit]
        return next((_TYPE_MESSAGES[kind] for kind in kinds if kind in _TYPE_MESSAGES), INVALID_VALUE)
    if rule == "multipleOf" and str(limit) == "0.01":
        return msg("at most two decimals")
    message = _MESSAGES.get(rule)
    if message is None:
        return msg("invalid value: %(reason)s", reason=error.message)
    return Text(message.msgid, {"limit": limit}) if "%(limit)" in message.msgid else message


INVALID_VALUE = msg("invalid value")
CHOOSE_FROM_LIST = msg("choose one of the list")
_MESSAGES = {
    "required": REQUIRED,
    "pattern": msg("not in the expected format"),
    "minLength": msg("at least %(limit)s characters"),
    "maxLength": msg("at most %(limit)s characters"),
    "minimum": msg("must be at least %(limit)s"),
    "maximum": msg("must be at most %(limit)s"),
    "exclusiveMinimum": msg("must be more than %(limit)s"),
    "exclusiveMaximum": msg("must be less than %(limit)s"),
    "multipleOf": msg("must be a multiple of %(limit)s"),
    "oneOf": CHOOSE_FROM_LIST, "enum": CHOOSE_FROM_LIST, "const": CHOOSE_FROM_LIST,
    "minItems": msg("choose at least %(limit)s"),
    "maxItems": msg("choose at most %(limit)s"),
}
_TYPE_MESSAGES = {
    "integer": msg("enter a whole number"), "number": msg("enter a number"),
    "boolean": msg("choose yes or no"), "string": msg("enter text"),
    "object": INVALID_VALUE, "array": INVALID_VALUE,
}
_FORMAT_MESSAGES = {
    "date": msg("not a valid date"), "date-time": msg("not a valid date and time"),
    "email": msg("not a valid e-mail address"),
}


def parse_json_body(raw: bytes) -> Any:
    """A request body as JSON, None when it is not JSON; raise InvalidFormError (422) when it nests deeper
    than MAX_JSON_DEPTH levels, which no form needs and which would exhaust the stack of whatever reads it."""
    try:
        return load_json(raw)
    except JsonTooDeepError as exc:
        reason = msg("nested more than %(limit)s levels deep", limit=exc.limit)
        raise InvalidFormError(msg("the body is %(reason)s", reason=reason), errors={"body": reason}) from exc
    except ValueError:  # malformed JSON or text that is not UTF-8
        return None


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
                             choices=_bundle_choice_titles(forms) if forms else {})


_CHOICE_TITLES: dict[int, tuple[Mapping[str, Any], dict[str, dict[str, str]]]] = {}
_BUNDLES_REMEMBERED = 64


def _bundle_choice_titles(forms: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    # A bundle's forms are immutable and cached for the life of the process (as ``_validator_for`` says), so the
    # mapping itself is the key; walking every form of the bundle on every task page is what this saves.
    cached = _CHOICE_TITLES.get(id(forms))
    if cached is None or cached[0] is not forms:
        if len(_CHOICE_TITLES) >= _BUNDLES_REMEMBERED:
            _CHOICE_TITLES.clear()
        cached = (forms, choice_titles(forms))
        _CHOICE_TITLES[id(forms)] = cached
    return cached[1]


# Task-data variables that hold a login or a project key: shown to people by name (docs/flow-contract.md).
PERSON_VARIABLES = frozenset({"technician", "assignee", "engineer_on_call"})
PROJECT_VARIABLES = frozenset({"project"})


def with_names(data: Mapping[str, Any], *, known_projects: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``data`` as people read it: logins as the person's name, project keys as the project's name.

    For what is only shown (instructions, read-only fields); what a form submits keeps the keys.
    ``known_projects``: project names already read (key -> name; the task's own project), not asked again.
    """
    people = {name: data[name] for name in PERSON_VARIABLES if isinstance(data.get(name), str)}
    projects = {name: data[name] for name in PROJECT_VARIABLES if isinstance(data.get(name), str)}
    if not people and not projects:
        return dict(data)
    names = dict(db.session.execute(select(User.username, User.display_name)
                                    .where(User.username.in_(people.values()))).all()) if people else {}
    titles = dict(known_projects or {})
    unknown = {key for key in projects.values() if key not in titles}
    if unknown:
        titles.update(db.session.execute(select(Project.key, Project.name).where(Project.key.in_(unknown))).all())
    shown = dict(data)
    shown.update({name: names.get(login) or login for name, login in people.items()})
    shown.update({name: titles.get(key) or key for name, key in projects.items()})
    return shown


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
