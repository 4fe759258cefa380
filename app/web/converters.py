"""URL converters shared by every blueprint."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

ROW_ID_MAX = 2**31 - 1  # PostgreSQL's integer column: a larger number in a URL is a 404, never a database error


class RowIntConverter(IntegerConverter):
    """``<int:…>`` in our routes is a row id or a version number: bounded by the database's integer."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = ROW_ID_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
