"""The rows of a handover spreadsheet (XLSX or CSV), by column, whatever the headers' language."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from app.services.errors import InvalidRequestError, msg

# Each column the import reads, with the headers it is known by (Chinese or English, any case).
COLUMNS = {
    "building": ("楼栋", "building"),
    "room": ("房号", "room", "unit"),
    "owner_name": ("业主", "业主姓名", "owner", "owner name", "owner_name"),
    "owner_phone": ("电话", "业主电话", "手机", "phone", "owner phone", "owner_phone"),
    "handover_date": ("交付日期", "收楼日期", "handover date", "handover_date"),
}
# Columns a sheet may leave out; a row of a sheet without them reads them as empty.
OPTIONAL_COLUMNS = {
    "owner_email": ("业主邮箱", "邮箱", "电子邮箱", "电邮", "e-mail", "email", "owner e-mail", "owner email",
                    "owner_email"),
    "contract_end_date": ("物业服务合同到期日", "合同到期日", "合同到期日期", "contract end date",
                          "contract ends", "contract_end_date"),
}
MAX_ROWS = 5000


@dataclass(frozen=True)
class SheetRow:
    number: int  # the row's number in the sheet (the header is row 1)
    values: dict[str, str]


def read_rows(filename: str, content: bytes) -> list[SheetRow]:
    """The data rows of a .xlsx or .csv file; raise InvalidRequest for another kind of file, an unreadable
    one, one without the needed headers or with too many rows."""
    lowered = filename.lower()
    if lowered.endswith(".xlsx"):
        table = _xlsx_table(content)
    elif lowered.endswith(".csv"):
        table = _csv_table(content)
    else:
        raise InvalidRequestError(msg("upload an .xlsx or a .csv file"), errors={"file": "xlsx or csv"})
    if not table:
        raise InvalidRequestError(msg("the file is empty"), errors={"file": "empty"})
    positions = _positions(table[0])
    rows = [SheetRow(number, {key: _text(cells[index] if index is not None and index < len(cells) else None)
                              for key, index in positions.items()})
            for number, cells in enumerate(table[1:], start=2) if any(_text(cell) for cell in cells)]
    if len(rows) > MAX_ROWS:
        raise InvalidRequestError(msg("at most %(count)s rows at a time", count=MAX_ROWS), errors={"file": "too long"})
    return rows


def _xlsx_table(content: bytes) -> list[list[Any]]:
    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise InvalidRequestError(msg("the spreadsheet cannot be read"), errors={"file": "unreadable"}) from exc


def _csv_table(content: bytes) -> list[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")  # a CSV saved by Excel on a Chinese Windows
        except UnicodeDecodeError as exc:
            raise InvalidRequestError(msg("the spreadsheet cannot be read"), errors={"file": "unreadable"}) from exc
    return [list(row) for row in csv.reader(io.StringIO(text))]


def _positions(header: list[Any]) -> dict[str, int | None]:
    """Each column's index in the sheet (None: an optional column the sheet has not)."""
    names = [_text(cell).lower() for cell in header]
    positions: dict[str, int | None] = {}
    for key, known in (COLUMNS | OPTIONAL_COLUMNS).items():
        found = next((index for index, name in enumerate(names) if name in known), None)
        if found is None and key in COLUMNS:
            raise InvalidRequestError(msg("the sheet has no column %(column)s", column=known[0]),
                                      errors={"file": key})
        positions[key] = found
    return positions


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()
