"""The guards RestrictedPython-compiled designer code runs through (see ``limits.py`` for why).

``LimitingTransformer`` compiles ``a ** b``, ``a * b``, ``a << b``, ``a + b`` and ``a % b`` into calls of
``_pow_``, ``_mul_``, ``_lshift_``, ``_add_`` and ``_mod_``, f-string format specs into ``_format_``;
it starts the body of every loop, comprehension round, function and lambda with ``_tick_()``, which
compares the thread's CPU time with the step's budget; and it starts every ``except`` and ``finally``
block with ``_limit_check_()``, so a script cannot catch the limit's error and go on. Each guard works
out the result's size from its operands and
refuses it (StepLimitError) past the value limit — the instance data limit, counted in characters or
items; integers: ``MAX_INT_BITS`` — before Python allocates it. ``range``, ``pow`` and the string methods
that pad, replace, join or expand tabs are guarded the same way. Names starting with ``_`` cannot be
written in a script, so a script cannot replace a guard.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterable
from string import Formatter
from typing import Any, TypeVar, cast

from RestrictedPython import RestrictingNodeTransformer

from app.engine.limits import MAX_INT_BITS, current_budget

_BINOP_GUARDS: dict[type[ast.operator], str] = {
    ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_"}
_SEQUENCES = (str, bytes, list, tuple)
_SIZED = (str, bytes, list, tuple, dict, set, frozenset, range)


class LimitingTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus size guards on operators and a limit check in every handler."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        node = self.node_contents_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return _located(_call(guard, node.left, node.right), node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        node = self.node_contents_visit(node)
        if node.format_spec is not None:  # f"{x:>{width}}": the spec is checked before formatting
            node.value = _located(_call("_format_", node.value, node.format_spec), node.value)
            node.format_spec = None
        return node

    def visit_While(self, node: ast.While) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        return _ticking(cast(ast.While, super().visit_While(node)))

    def visit_For(self, node: ast.For) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        return _ticking(cast(ast.For, super().visit_For(node)))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        return _ticking(cast(ast.FunctionDef, super().visit_FunctionDef(node)))

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        generator = cast(ast.comprehension, super().visit_comprehension(node))
        generator.ifs.insert(0, _located(_call("_tick_"), generator.iter))  # every round, before any filter
        return generator

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        function = cast(ast.Lambda, super().visit_Lambda(node))
        function.body = _located(_call("_tick_", function.body), function.body)  # passes the value through
        return function

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        handler = cast(ast.ExceptHandler, super().visit_ExceptHandler(node))
        handler.body.insert(0, _check_statement(handler))
        return handler

    def visit_Try(self, node: ast.Try) -> ast.AST:  # noqa: N802 - ast.NodeTransformer's naming
        statement = cast(ast.Try, super().visit_Try(node))
        if statement.finalbody:
            statement.finalbody.insert(0, _check_statement(statement.finalbody[0]))
        return statement


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


Node = TypeVar("Node", bound=ast.AST)


def _located(new: Node, old: ast.AST) -> Node:
    """``new`` at ``old``'s place in the source (tracebacks name the script's line)."""
    return ast.fix_missing_locations(ast.copy_location(new, old))


def _check_statement(near: ast.AST, name: str = "_limit_check_") -> ast.stmt:
    return _located(ast.Expr(_call(name)), near)


Block = TypeVar("Block", ast.While, ast.For, ast.FunctionDef)


def _ticking(node: Block) -> Block:
    node.body.insert(0, _check_statement(node.body[0], "_tick_"))
    return node


# --- checks: refuse a result before it is computed ---------------------------------------------------------------

def _check_size(what: str, size: float) -> None:
    """Refuse a value of ``size`` characters or items past the data limit."""
    budget = current_budget()
    size = int(min(size, 10**18))
    limit = budget.byte_limit_passed(size)
    if limit is not None:
        raise budget.refuse_size(what, size, limit, "characters or items")


def _check_int_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise current_budget().refuse_size("a number", int(min(bits, 10**18)), MAX_INT_BITS, "bits")


def _weight(item: Any) -> int:
    """What one element of a repeated list weighs: its length if it has one, else 1."""
    return len(item) + 1 if isinstance(item, _SIZED) else 1


def _check_mul(left: Any, right: Any) -> None:
    if type(left) is int and type(right) is int:
        _check_int_bits(left.bit_length() + right.bit_length())
        return
    sequence, times = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
    if not isinstance(sequence, _SEQUENCES) or not isinstance(times, int) or times <= 0:
        return
    _check_size("a repeated sequence", len(sequence) * times)
    if isinstance(sequence, list | tuple):
        _check_size("a repeated list", sum(_weight(item) for item in sequence) * times)


def _check_pow(base: Any, exponent: Any, modulo: Any = None) -> None:
    if modulo is None and type(base) is int and type(exponent) is int and exponent > 0 and abs(base) > 1:
        _check_int_bits(exponent * math.log2(abs(base)))


def _check_lshift(left: Any, right: Any) -> None:
    if type(left) is int and type(right) is int and left and right > 0:
        _check_int_bits(left.bit_length() + right)


def _check_add(left: Any, right: Any) -> None:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SIZED):
        _check_size("a joined sequence", len(left) + len(right))


_PERCENT_WIDTHS = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def _check_mod(left: Any, right: Any) -> None:
    """``"%10d" % x``: every width and precision within the limit (``*`` takes them from the values)."""
    if not isinstance(left, str | bytes):
        return
    text = left if isinstance(left, str) else left.decode("latin-1")
    values = right if isinstance(right, tuple) else (right,)
    for width, precision in _PERCENT_WIDTHS.findall(text):
        if "*" in (width, precision):
            _check_widths(str(value) for value in values if type(value) is int)
        _check_widths((width, precision))


def _check_widths(specs: Iterable[str]) -> None:
    for spec in specs:
        for digits in _DIGITS.findall(spec):
            _check_size("a formatted value", int(digits) if len(digits) <= 18 else 10**18)


# --- the guards scripts call ---------------------------------------------------------------------------------------

def _guarded(check: Callable[..., None], operation: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*operands: Any) -> Any:
        check(*operands)
        return operation(*operands)
    guarded.__name__ = getattr(operation, "__name__", "guarded")
    return guarded


def check_format_template(template: str, values: Iterable[Any]) -> None:
    """``"{:>10}".format(...)``: every width within the limit, a width taken from a value too."""
    for _, _, spec, _ in Formatter().parse(template):
        if spec:
            _check_widths((spec,))
            if "{" in spec:
                _check_widths(str(value) for value in values if type(value) is int)


def check_binop(symbol: str, left: Any, right: Any) -> None:
    """Refuse ``left symbol right`` if its result would be past the limit (for Jinja's sandbox)."""
    check = _CHECKS.get(symbol)
    if check is not None:
        check(left, right)


def guarded_format(value: Any, spec: str) -> Any:
    _check_widths((spec,))
    return format(value, spec)


def guarded_range(*args: int) -> range:
    numbers = range(*args)
    _check_size("a range", len(numbers))
    return numbers


def limit_check() -> None:
    """First statement of every ``except``/``finally`` block: a passed limit stays passed."""
    budget = current_budget()
    if budget.exceeded is not None:
        raise budget.exceeded


def tick(value: Any = True) -> Any:
    """Each round of a loop, each call of a function: within the step's CPU budget? ``value`` passes through."""
    current_budget().check_cpu()
    return value


_CHECKS: dict[str, Callable[..., None]] = {
    "*": _check_mul, "**": _check_pow, "<<": _check_lshift, "+": _check_add, "%": _check_mod}
_IN_PLACE = {"*": operator.imul, "**": operator.ipow, "<<": operator.ilshift, "+": operator.iadd,
             "%": operator.imod}


def guarded_in_place(symbol: str) -> Callable[[Any, Any], Any] | None:
    """``x op= y`` checked as ``x op y`` (``symbol`` as RestrictedPython passes it: "*=", "+=" ...)."""
    op = symbol.removesuffix("=")
    return _guarded(_CHECKS[op], _IN_PLACE[op]) if op in _CHECKS else None


# The names the transformer's calls refer to, for a script's globals.
GUARDED_OPERATORS: dict[str, Any] = {"_pow_": _guarded(_check_pow, pow), "_mul_": _guarded(_check_mul, operator.mul),
            "_lshift_": _guarded(_check_lshift, operator.lshift), "_add_": _guarded(_check_add, operator.add),
            "_mod_": _guarded(_check_mod, operator.mod), "_format_": guarded_format, "_limit_check_": limit_check,
    "_tick_": tick}


GUARDED_BUILTINS: dict[str, Any] = {"range": guarded_range, "pow": _guarded(_check_pow, pow)}


# --- string methods that build a large string in one call ---------------------------------------------------------

def _check_padding(text: Any, width: Any = 0, *_: Any) -> None:
    if type(width) is int:
        _check_size("a padded string", width)


def _check_replace(text: Any, old: Any, new: Any, count: int = -1) -> None:
    if type(text) not in (str, bytes) or type(old) is not type(text) or type(new) is not type(text):
        return
    found = len(text) + 1 if not old else int(text.count(old))
    if type(count) is int and count >= 0:
        found = min(found, count)
    size = len(text) + found * (len(new) - len(old))
    _check_size("a replaced string", size)


def _check_expandtabs(text: Any, tabsize: Any = 8) -> None:
    if type(text) in (str, bytes) and type(tabsize) is int and tabsize > 0:
        size = len(text) + int(text.count("\t" if type(text) is str else b"\t")) * tabsize
        _check_size("an expanded string", size)


def _join(separator: Any, items: Iterable[Any]) -> Any:
    parts = list(items)
    if isinstance(separator, str | bytes):
        size = sum(len(part) for part in parts if isinstance(part, str | bytes)) + len(separator) * len(parts)
        _check_size("a joined string", size)
    return separator.join(parts)


_STRING_CHECKS: dict[str, Callable[..., None]] = {
    "ljust": _check_padding, "rjust": _check_padding, "center": _check_padding, "zfill": _check_padding,
    "replace": _check_replace, "expandtabs": _check_expandtabs}


def guarded_attribute(owner: Any, name: str, value: Any) -> Any:
    """``owner.name`` as a script gets it: a string method that can build a large string comes guarded,
    whether taken from a string (``s.center``) or from its type (``str.center``)."""
    is_string_type = owner is str or owner is bytes
    if not (isinstance(owner, str | bytes) or is_string_type) or (name not in _STRING_CHECKS and name != "join"):
        return value
    if is_string_type:  # unbound: the string comes first
        return _join if name == "join" else _guarded(_STRING_CHECKS[name], value)
    if name == "join":
        return lambda items: _join(owner, items)
    check = _STRING_CHECKS[name]
    return lambda *args: (check(owner, *args), value(*args))[1]
