"""The script and expression environment: RestrictedPython-compiled, with our helper functions.

SpiffWorkflow's default environment runs plain ``eval``/``exec``: any script could
``import os``. Every script, condition, timer expression and DMN cell goes through
RestrictedPython here instead, compiled with the size guards of ``guards.py`` and run under the
step's CPU budget (``limits.py``).
"""

from __future__ import annotations

import ast
import operator
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any
from zoneinfo import ZoneInfo

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr_raise,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from app.clock import Clock
from app.engine.guards import (
    GUARDED_BUILTINS,
    GUARDED_OPERATORS,
    LimitingTransformer,
    guarded_attribute,
    guarded_in_place,
)
from app.engine.limits import StepLimitError, StepLimits, run_limited
from app.engine.settings import SettingsSource, SettingValue, default_setting
from app.engine.working_time import HOURS, WEEKENDS_ONLY, WORKING_HOURS, WorkingCalendar

CalendarSource = Callable[[], WorkingCalendar]  # the current calendar; the services reload it when an admin edits

_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "|=": operator.ior, "&=": operator.iand,
}

_EXTRA_BUILTINS: dict[str, Any] = {
    name: obj
    for name, obj in {
        "dict": dict, "list": list, "set": set, "min": min, "max": max, "sum": sum,
        "any": any, "all": all, "enumerate": enumerate, "sorted": sorted, "reversed": reversed,
        "map": map, "filter": filter, "getattr": safer_getattr_raise,  # replaced by _getattr when run
    }.items()
}


class ScriptCompileError(Exception):
    """A script or expression that RestrictedPython refuses to compile."""


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    guarded = guarded_in_place(op)
    return guarded(x, y) if guarded is not None else _INPLACE_OPERATORS[op](x, y)


def _getattr(owner: Any, name: str, *default: Any) -> Any:
    """RestrictedPython's attribute guard, with the string methods that can build a large string guarded."""
    return guarded_attribute(owner, name, safer_getattr_raise(owner, name, *default))


_BUILTINS = {**safe_builtins, **_EXTRA_BUILTINS, **GUARDED_BUILTINS, "getattr": _getattr}


_RESTRICTED_BUILTINS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    **GUARDED_OPERATORS,
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
}


def restricted_builtins() -> dict[str, Any]:
    """The guard functions and builtins that RestrictedPython-compiled code expects (a fresh copy)."""
    return dict(_RESTRICTED_BUILTINS)


# CPython 3.11 before 3.11.8 keeps the AST constructor's recursion count in one place per interpreter, so two
# threads building ASTs at once (a gthread worker's requests compiling new scripts) can fail with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905): one AST at a time. Every
# ``ast.parse`` in the process takes the lock on such a Python, not only ours: a library's (Jinja's, pytest's
# assertion rewriting and tracebacks) racing one of ours broke a test run twice in one evening.
AST_LOCK = threading.RLock()


def _one_at_a_time(parse: Any) -> Any:
    def parse_alone(*args: Any, **kwargs: Any) -> Any:
        with AST_LOCK:
            return parse(*args, **kwargs)

    parse_alone.one_at_a_time = True  # type: ignore[attr-defined]
    return parse_alone


if sys.version_info < (3, 11, 8) and not getattr(ast.parse, "one_at_a_time", False):
    ast.parse = _one_at_a_time(ast.parse)


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    """Compile an expression (condition, timer, DMN cell); raise ScriptCompileError."""
    with AST_LOCK:
        result = compile_restricted_eval(expression.strip(), policy=LimitingTransformer)
    if result.errors or result.code is None:
        raise ScriptCompileError("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    """Compile a script task body; raise ScriptCompileError."""
    with AST_LOCK:
        result = compile_restricted_exec(script, filename="<string>", policy=LimitingTransformer)
    if result.errors or result.code is None:
        raise ScriptCompileError("; ".join(result.errors))
    return result.code


def evaluate_constant(expression: str) -> Any:
    """The value of an expression that names no variable (a timer's ``"PT4H"``), within the default limits.

    Raise ScriptCompileError; ValueError for a value past the limits (``"P" + "1" * 10**9 + "D"``).
    """
    code = compile_expression(expression)
    try:
        return run_limited(lambda: eval(code, restricted_builtins()))  # noqa: S307 - compiled by RestrictedPython
    except StepLimitError as exc:
        raise ValueError(str(exc)) from exc


def expression_names(expression: str) -> set[str]:
    """The free names an expression reads (for deploy-time checks)."""
    with AST_LOCK:
        return set(compile_restricted_eval(expression.strip()).used_names)


DEFAULT_TIMEZONE = "Asia/Shanghai"


def make_helpers(clock: Clock, timezone: str = DEFAULT_TIMEZONE, calendar: CalendarSource | None = None,
                 settings: SettingsSource | None = None) -> dict[str, Callable[..., Any]]:
    """The helper functions offered to scripts, conditions and timer expressions.

    Times go in and out as ISO 8601 strings with their offset; "local" means the business
    time zone (office hours, the night shift), not the server's. ``calendar`` gives the working
    calendar (office hours, holidays, make-up days) when a script asks for working time; without
    one, working days are Monday to Friday, 09:00-18:00. ``settings`` gives the admin's settings
    (``setting("pause_cap_days")``); without one, the declared defaults. An unknown key raises
    UnknownSettingError.
    """
    zone = ZoneInfo(timezone)
    working_calendar = calendar or (lambda: WorkingCalendar(timezone=timezone))
    read_setting = settings or default_setting

    def now() -> str:
        return clock.now().isoformat()

    def add_hours(start: str, hours: float) -> str:
        return (datetime.fromisoformat(start) + timedelta(hours=float(hours))).isoformat()

    def hours_between(start: str, end: str) -> float:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600

    def local_hour(moment: str | None = None) -> int:
        return (datetime.fromisoformat(moment) if moment else clock.now()).astimezone(zone).hour

    def next_local_time(hhmm: str, after: str | None = None) -> str:
        """The next moment the business clock shows ``hhmm`` (e.g. the 08:00 shift hand-over)."""
        start = (datetime.fromisoformat(after) if after else clock.now()).astimezone(zone)
        hour, minute = (int(part) for part in hhmm.split(":"))
        candidate = start.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate <= start:
            candidate += timedelta(days=1)
        return candidate.isoformat()

    def add_working_time(start: str, amount: float, unit: str = WORKING_HOURS) -> str:
        """``start`` plus ``amount`` in ``unit``: "hours" (calendar), "working_hours" or "working_days"."""
        moment = datetime.fromisoformat(start)
        if unit == HOURS:  # calendar time needs no calendar
            return WEEKENDS_ONLY.add(moment, amount, unit).isoformat()
        return working_calendar().add(moment, amount, unit).isoformat()

    def working_hours_between(start: str, end: str) -> float:
        return working_calendar().working_hours_between(datetime.fromisoformat(start), datetime.fromisoformat(end))

    def heating_seasons_between(start: str, end: str, season_start: str = HEATING_SEASON[0],
                                season_end: str = HEATING_SEASON[1]) -> int:
        """Whole heating seasons (default Nov 15 - Mar 15) that began on or after ``start`` and ended before ``end``."""
        return count_seasons(_local_date(start, zone), _local_date(end, zone), season_start, season_end)

    def setting(key: str) -> SettingValue:
        """The current value of an admin setting (/admin/settings), e.g. ``setting("callback_due_hours")``."""
        return read_setting(key)

    return {"now": now, "add_hours": add_hours, "hours_between": hours_between, "local_hour": local_hour,
            "next_local_time": next_local_time, "add_working_time": add_working_time,
            "working_hours_between": working_hours_between, "setting": setting,
            "heating_seasons_between": heating_seasons_between}


# Northern China's heating season (采暖期), as month-day; the warranty of heating systems counts these.
HEATING_SEASON = ("11-15", "03-15")


def count_seasons(first: date, last: date, season_start: str, season_end: str) -> int:
    """Seasons (``MM-DD`` to ``MM-DD``, possibly across New Year) lying wholly after ``first`` and before ``last``.

    A season under way on ``first`` does not count: the warranty covers whole seasons after the handover.
    """
    opens_on, closes_on = _month_day(season_start), _month_day(season_end)
    crosses_new_year = closes_on < opens_on
    seasons = 0
    for year in range(first.year - 1, last.year + 1):
        opens = date(year, *opens_on)
        closes = date(year + 1 if crosses_new_year else year, *closes_on)
        if opens >= first and closes < last:
            seasons += 1
    return seasons


def _month_day(text: str) -> tuple[int, int]:
    month, day = (int(part) for part in text.split("-"))
    return month, day


def _local_date(moment: str, zone: ZoneInfo) -> date:
    """The business-time day of an ISO date (``2026-03-02``) or date-time (with or without offset)."""
    if len(moment) == 10:
        return date.fromisoformat(moment)
    parsed = datetime.fromisoformat(moment)
    return (parsed.astimezone(zone) if parsed.tzinfo else parsed).date()


HELPER_NAMES = frozenset(make_helpers(clock=None).keys())  # type: ignore[arg-type]  # names only


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment whose eval/exec run RestrictedPython-compiled code only, within the step's limits.

    ``limits`` gives the admin's limits for code evaluated outside an engine step (which has its own budget).
    """

    def __init__(self, helpers: dict[str, Any], limits: Callable[[], StepLimits]) -> None:
        super().__init__(helpers)
        self.limits = limits

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        code = compile_expression(expression)
        scope = {**_RESTRICTED_BUILTINS, **self.globals, **(external_context or {}), **context}
        return run_limited(lambda: eval(code, scope), self.limits)  # noqa: S307 - compiled by RestrictedPython

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        code = compile_script(script)
        context.update({**_RESTRICTED_BUILTINS, **self.globals, **(external_context or {})})
        try:
            run_limited(lambda: exec(code, context), self.limits)  # noqa: S102 - compiled by RestrictedPython
        finally:
            self._remove_guards(context, external_context)
        return True

    def _remove_guards(self, context: dict[str, Any], external_context: Mapping[str, Any] | None) -> None:
        for key in list(context):
            if (key.startswith("_") and key.endswith("_")) or key == "__builtins__":
                context.pop(key)
        self._remove_globals_and_functions_from_context(context, external_context)


@lru_cache(maxsize=4096)
def _parse_error(expression: str) -> tuple[Any, ...] | None:
    """The arguments of the SyntaxError ``ast.parse`` gives for ``expression`` (not the error itself, which
    would keep its traceback's frames alive), or None when it parses."""
    try:
        with AST_LOCK:
            ast.parse(expression)
    except SyntaxError as exc:
        return exc.args
    return None


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose ``validate`` remembers its answer per text.

    SpiffWorkflow's DMN engine validates each cell's input and match expression (``ast.parse``, twice for
    a comparison such as ``>= 3``) every time it evaluates the cell, in every rule of every table: the same
    few texts, parsed again on every step. What gets evaluated is still compiled by RestrictedPython.
    """

    def validate(self, expression: str) -> None:
        error = _parse_error(expression)
        if error is not None:
            raise SyntaxError(*error)


def make_script_engine(clock: Clock, timezone: str = DEFAULT_TIMEZONE, calendar: CalendarSource | None = None,
                       settings: SettingsSource | None = None) -> PythonScriptEngine:
    helpers = make_helpers(clock, timezone, calendar, settings)
    return RestrictedScriptEngine(environment=RestrictedEnvironment(helpers, lambda: StepLimits.read(settings)))
