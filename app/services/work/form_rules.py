"""Form rules that need more than the submission: the clock, the working calendar, the task's data.

JSON Schema checks a submission on its own. A few rules of the centre need context: an appointment
must lie in the future and in office hours, fees must add up to the quote the owner accepted, a
quote is needed when the owner pays. Forms declare them with ``x-`` keywords (forms/README.md):

- on a field, ``"x-future": true``: a date-time later than now;
- on a field, ``"x-office-hours": "<boolean field>"``: a date-time inside the office hours of a
  working day, unless the named boolean field of the submission confirms it as out of hours;
- on the form, ``"x-rules"``: a list of ``{"when": {...}, "required": [...]}`` or
  ``{"when": {...}, "sum": [...], "equals": [...]}``; ``when`` compares names to values on the
  task's data with the submission on top, ``sum`` adds fields (as submitted, else as the task
  holds them) and ``equals`` adds task data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.engine import WorkingCalendar
from app.services.errors import Bilingual, Message, Text, msg

REQUIRED = msg("required")


@dataclass(frozen=True)
class FormContext:
    """What the rules may read besides the submission; each part is computed only when a rule asks."""

    now: datetime
    timezone: str
    calendar: Callable[[], WorkingCalendar]
    task_data: Callable[[], Mapping[str, Any]]


def context_errors(schema: Mapping[str, Any], data: Mapping[str, Any], context: FormContext) -> dict[str, Message]:
    """Per-field message ids of the rules the submission breaks; empty when it keeps them."""
    errors: dict[str, Message] = {}
    for name, spec in (schema.get("properties") or {}).items():
        message = _moment_error(spec, data.get(name), data, schema, context)
        if message:
            errors[name] = message
    rules = schema.get("x-rules") or ()
    if rules:
        merged = {**context.task_data(), **data}
        for rule in rules:
            if _applies(rule.get("when") or {}, merged):
                for name, broken in _rule_errors(rule, data, merged).items():
                    errors.setdefault(name, broken)
    return errors


def _moment_error(spec: Mapping[str, Any], value: Any, data: Mapping[str, Any], schema: Mapping[str, Any],
                  context: FormContext) -> Text | None:
    if not isinstance(value, str) or not (spec.get("x-future") or spec.get("x-office-hours")):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None  # the schema's format check names it
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(context.timezone))
    if spec.get("x-future") and moment <= context.now:
        local_now = context.now.astimezone(ZoneInfo(context.timezone)).strftime("%Y-%m-%d %H:%M")
        return msg("must be later than now (%(now)s)", now=local_now)
    confirming = spec.get("x-office-hours")
    if confirming and not (isinstance(confirming, str) and data.get(confirming) is True):
        calendar = context.calendar()
        if calendar.working_hours_between(moment, moment + timedelta(minutes=1)) <= 0:
            return _out_of_hours(calendar, schema, confirming)
    return None


def _out_of_hours(calendar: WorkingCalendar, schema: Mapping[str, Any], confirming: Any) -> Text:
    hours = calendar.office_hours.describe()
    title = str(((schema.get("properties") or {}).get(confirming) or {}).get("title") or "")
    if not isinstance(confirming, str) or not title:
        return msg("outside working hours (working days %(hours)s)", hours=hours)
    return msg("outside working hours (working days %(hours)s); to keep this time answer \"%(field)s\" with Yes",
               hours=hours, field=Bilingual(title))


def _applies(when: Mapping[str, Any], merged: Mapping[str, Any]) -> bool:
    return all(merged.get(name) == value for name, value in when.items())


def _rule_errors(rule: Mapping[str, Any], data: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[str, Message]:
    if "required" in rule:
        message: Message = rule.get("message") or REQUIRED
        return {name: message for name in rule["required"] if data.get(name) is None}
    if "sum" in rule:
        return _sum_errors(rule, data, merged)
    return {}


def _sum_errors(rule: Mapping[str, Any], data: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[str, Message]:
    wanted = [merged.get(name) for name in rule.get("equals") or ()]
    if not wanted or any(not isinstance(value, int | float) for value in wanted):
        return {}  # nothing agreed to compare with
    # A field left out keeps what the task holds (the fees start from the quote), so it counts as that.
    got = sum((_money(merged.get(name)) for name in rule["sum"]), Decimal(0))
    want = sum((_money(value) for value in wanted), Decimal(0))
    if got == want:
        return {}
    message = msg("these add up to %(got).2f, not the accepted quote %(want).2f", got=got, want=want)
    return {name: message for name in rule["sum"]}


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if isinstance(value, int | float) and not isinstance(value, bool) else Decimal(0)
