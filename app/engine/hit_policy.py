"""Whether two rows of a decision table can match the same input, for the cell kinds our tables use.

A cell is read into the values it matches: ``-``/empty (anything), literals (``"a"``, ``3``, ``True``),
``in (...)``, comparisons ``< <= > >= ==``, ranges (``[1..5]``, ``1 <= ? < 5``), ``is not None`` and
``and``/``or`` of these. Anything else is unknown, and an unknown cell never makes two rows overlap:
the check refuses only what it can prove.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

_INPUT = "_dmn_input_"
_OPERATOR_START = re.compile(r"^\s*(not\s+in\b|in\b|<=|>=|==|!=|<|>|is\b)")
_FEEL_RANGE = re.compile(r"^\s*([\[\]\(])\s*(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)\s*([\[\]\)])\s*$")


class UnknownCellError(Exception):
    """A cell whose matching values this module cannot tell."""


@dataclass(frozen=True)
class Value:
    value: Any


@dataclass(frozen=True)
class Interval:
    low: float = -math.inf
    low_included: bool = False
    high: float = math.inf
    high_included: bool = False

    def holds(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        above = value > self.low or (self.low_included and value == self.low)
        below = value < self.high or (self.high_included and value == self.high)
        return above and below

    def meet(self, other: Interval) -> Interval | None:
        low, low_in = max((self.low, not self.low_included), (other.low, not other.low_included))
        high, high_in = min((self.high, self.high_included), (other.high, other.high_included))
        low_included = not low_in
        if low < high or (low == high and low_included and high_in):
            return Interval(low, low_included, high, high_in)
        return None


NOT_NONE = Interval(-math.inf, False, math.inf, False)  # stands for "anything but None" among numbers
Atom = Value | Interval
Cell = tuple[Atom, ...] | None  # None: matches anything


def read_cell(text: str) -> Cell:
    """The values a cell matches; raise UnknownCellError when it cannot tell."""
    cell = (text or "").strip()
    if cell in ("", "-"):
        return None
    feel = _FEEL_RANGE.match(cell)
    if feel:
        return (Interval(float(feel.group(2)), feel.group(1) == "[", float(feel.group(3)), feel.group(4) == "]"),)
    expression = cell.replace("?", _INPUT) if "?" in cell else (f"{_INPUT} {cell}" if _OPERATOR_START.match(cell)
                                                                  else cell)
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as exc:
        raise UnknownCellError(cell) from exc
    return _atoms(tree)


def _atoms(node: ast.expr) -> tuple[Atom, ...]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return tuple(atom for value in node.values for atom in _atoms(value))
    if isinstance(node, ast.BoolOp):
        result = _atoms(node.values[0])
        for value in node.values[1:]:
            result = _meet(result, _atoms(value))
        return result
    if isinstance(node, ast.Compare):
        return _comparison(node)
    return (Value(_constant(node)),)


def _meet(left: tuple[Atom, ...], right: tuple[Atom, ...]) -> tuple[Atom, ...]:
    met: list[Atom] = []
    for a in left:
        for b in right:
            atom = _meet_atoms(a, b)
            if atom is not None:
                met.append(atom)
    return tuple(met)


def _meet_atoms(a: Atom, b: Atom) -> Atom | None:
    if isinstance(a, Value) and isinstance(b, Value):
        return a if a.value == b.value else None
    if isinstance(a, Value):
        return a if isinstance(b, Interval) and (b.holds(a.value) or (b == NOT_NONE and a.value is not None)) else None
    if isinstance(b, Value):
        return _meet_atoms(b, a)
    return a.meet(b)


def _constant(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise UnknownCellError(ast.unparse(node)) from exc


_BOUNDS = {ast.Lt: (False, "high"), ast.LtE: (True, "high"), ast.Gt: (False, "low"), ast.GtE: (True, "low")}
_FLIPPED = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}


def _comparison(node: ast.Compare) -> tuple[Atom, ...]:
    operands = [node.left, *node.comparators]
    result: tuple[Atom, ...] | None = None
    for left, op, right in zip(operands, node.ops, operands[1:], strict=False):  # `1 <= ? < 5` is two
        atoms = _single_comparison(left, op, right)
        result = atoms if result is None else _meet(result, atoms)
    return result or ()


def _is_input(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == _INPUT


def _single_comparison(left: ast.expr, op: ast.cmpop, right: ast.expr) -> tuple[Atom, ...]:
    if not _is_input(left):
        if _is_input(right) and type(op) in _FLIPPED:
            return _single_comparison(right, _FLIPPED[type(op)](), left)
        raise UnknownCellError(ast.unparse(left))
    if isinstance(op, ast.In):
        values = _constant(right)
        if not isinstance(values, (tuple, list, set, frozenset)):
            raise UnknownCellError(ast.unparse(right))
        return tuple(Value(value) for value in values)
    if isinstance(op, ast.Eq):
        return (Value(_constant(right)),)
    if isinstance(op, ast.IsNot) and _constant(right) is None:
        return (NOT_NONE,)
    if type(op) in _BOUNDS:
        bound = _constant(right)
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise UnknownCellError(ast.unparse(right))
        included, side = _BOUNDS[type(op)]
        if side == "high":
            return (Interval(high=bound, high_included=included),)
        return (Interval(low=bound, low_included=included),)
    raise UnknownCellError(ast.unparse(right))


def cells_overlap(a: Cell, b: Cell) -> bool:
    if a is None or b is None:
        return True
    return any(_atoms_overlap(x, y) for x in a for y in b)


def _atoms_overlap(a: Atom, b: Atom) -> bool:
    if a == NOT_NONE or b == NOT_NONE:
        other = b if a == NOT_NONE else a
        return not (isinstance(other, Value) and other.value is None)
    return _meet_atoms(a, b) is not None


def overlapping_rules(rows: list[list[str]]) -> list[tuple[int, int]]:
    """Pairs of rule numbers (1-based) whose input cells can all match one input; unknown cells never do."""
    read: list[list[Cell] | None] = []
    for row in rows:
        try:
            read.append([read_cell(cell) for cell in row])
        except UnknownCellError:
            read.append(None)
    pairs = []
    for i, first in enumerate(read):
        for j in range(i + 1, len(read)):
            second = read[j]
            if first is not None and second is not None and all(
                    cells_overlap(a, b) for a, b in zip(first, second, strict=False)):
                pairs.append((i + 1, j + 1))
    return pairs
