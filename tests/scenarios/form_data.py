"""Data a form accepts, generated from the form's own JSON Schema (hypothesis-jsonschema).

The shipped forms carry our extensions (``forms/README.md``): ``x-…`` widget keywords, people pickers
(``"x-widget": "user"`` with an ``x-role``, whose choices the console fills at run time with the
active holders of the role), ``readOnly`` fields that a submission never sets, money as a number with
``"multipleOf": 0.01`` (or as a string with decimals) and date-time formats. ``generable`` turns a form
into a plain schema hypothesis-jsonschema can generate from; ``submissions`` draws from it and keeps
only what the server's own check (``app.services.work.forms.clean_submission``) accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from app.services.errors import InvalidFormError
from app.services.work.forms import clean_submission

# Our own names for the date formats: overriding a standard format makes hypothesis-jsonschema warn.
DATE_TIME, DATE = "kefu-date-time", "kefu-date"

_OFFSETS = [timezone(timedelta(hours=8)), UTC, timezone(timedelta(hours=-5, minutes=-30))]
People = Callable[[str], list[str]]  # a picker's role -> the usernames the console offers


def generable(form: Mapping[str, Any], people: People) -> dict[str, Any]:
    """The form as a schema of what a person may submit: no readOnly fields, pickers as enums, no x- keys."""
    properties = {name: _field(spec, people) for name, spec in (form.get("properties") or {}).items()
                  if not spec.get("readOnly")}
    schema = {key: value for key, value in form.items()
              if key not in ("$schema", "properties", "required") and not key.startswith("x-")}
    return {**_plain(schema), "type": "object", "properties": properties,
            "required": [name for name in form.get("required", []) if name in properties],
            "additionalProperties": False}


def _field(spec: Mapping[str, Any], people: People) -> Any:
    field = _plain(spec)
    if spec.get("x-widget") == "user" and spec.get("x-role"):
        field = {"type": "string", "enum": people(str(spec["x-role"]))}
    return field


def _plain(value: Any) -> Any:
    """A copy without ``x-…`` keywords, ``examples`` and ``default``; date formats renamed to ours."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if not isinstance(value, dict):
        return value
    plain = {key: _plain(item) for key, item in value.items()
             if not key.startswith("x-") and key not in ("examples", "default")}
    if isinstance(plain.get("pattern"), str):  # ECMA-262, as the server matches: \d is [0-9], not any digit
        plain["pattern"] = plain["pattern"].replace("\\d", "[0-9]")
    if plain.get("format") == "date-time":
        plain["format"] = DATE_TIME
    elif plain.get("format") == "date":
        plain["format"] = DATE
    return plain


def date_formats(now: Callable[[], datetime]) -> dict[str, st.SearchStrategy[str]]:
    """Dates mostly around the test's clock (an appointment tomorrow, a repair done an hour ago), some anywhere."""
    near = st.integers(-30 * 24 * 60, 60 * 24 * 60).map(lambda minutes: now() + timedelta(minutes=minutes))
    anywhere = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31),
                            timezones=st.sampled_from([now().tzinfo, *_OFFSETS]))
    moments = st.one_of(st.builds(_office_hours_soon, st.just(now), st.integers(0, 9), st.integers(8, 17),
                                  st.sampled_from([0, 15, 30, 45])),
                        near.map(_in_shanghai), near, anywhere)
    return {DATE_TIME: moments.map(lambda moment: moment.isoformat()),
            DATE: moments.map(lambda moment: moment.date().isoformat())}


def _office_hours_soon(now: Callable[[], datetime], days: int, hour: int, minute: int) -> datetime:
    """An appointment a person would make: some day soon, in office hours in Shanghai (a weekend too)."""
    day = _in_shanghai(now()) + timedelta(days=days)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _in_shanghai(moment: datetime) -> datetime:
    return moment.astimezone(_OFFSETS[0])


def submissions(form: Mapping[str, Any], people: People, now: Callable[[], datetime],
                hints: Mapping[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Submissions ``form`` accepts; ``hints`` replace a field's values (a project that exists).

    Each field comes from hypothesis-jsonschema; the object is put together here (required fields
    always, optional ones or not), because hypothesis-jsonschema 0.23's object strategy uses a
    Hypothesis internal (``many.more``) that Hypothesis 6.170 no longer has. Conditional rules of the
    whole form (``if``/``then``) are kept by the server's check, which every submission passes.
    """
    schema = generable(form, people)
    formats = date_formats(now)
    hints = hints or {}
    fields = {name: hints[name] if name in hints else from_schema(spec, custom_formats=formats, allow_x00=False)
              for name, spec in schema["properties"].items()}
    required = set(schema["required"])
    decimals = _decimal_places(schema)
    objects = st.fixed_dictionaries({name: field for name, field in fields.items() if name in required},
                                    optional={name: field for name, field in fields.items() if name not in required})
    return objects.map(lambda data: {key: _rounded(value, decimals.get(key)) for key, value in data.items()}).filter(
        lambda data: accepted(form, data))


def accepted(form: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    try:
        clean_submission(form, dict(data))
    except InvalidFormError:
        return False
    except Exception:
        return True
    return True


def _decimal_places(schema: Mapping[str, Any]) -> dict[str, int]:
    """Fields with a decimal step (money): their number of decimals."""
    places: dict[str, int] = {}
    for name, spec in schema["properties"].items():
        step = spec.get("multipleOf") if isinstance(spec, dict) else None
        if isinstance(step, float):
            places[name] = max(0, -Decimal(str(step)).as_tuple().exponent)  # type: ignore[operator]
    return places


def _rounded(value: Any, places: int | None) -> Any:
    # hypothesis-jsonschema builds multiples as n * 0.01 in floats (0.5700000000000001); a person types 0.57.
    if places is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return round(float(value), places)
