"""Exports of the admin's instance list: CSV (UTF-8 with a BOM, for Excel) and XLSX, phones masked unless asked."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from app.services.access import Actor
from app.services.oversight.instance_search import InstanceFilter, InstanceRow, list_instances
from app.services.work.inbox import mask_phone

EXPORT_LIMIT = 50_000
EXPORT_HEADER = ("instance", "ticket", "flow", "version", "status", "stage", "department", "project", "unit",
                 "caller", "phone", "category", "escalation_level", "started_at", "due_at", "closed_at", "overdue",
                 "open_tasks")


def export_rows(flt: InstanceFilter, *, user: Actor, now: datetime, timezone: str,
                masked: bool) -> Iterator[InstanceRow]:
    """Every matching instance (up to EXPORT_LIMIT), page by page; phones masked unless ``masked`` is False."""
    cursor, given = None, 0
    while given < EXPORT_LIMIT:
        page = list_instances(flt, user=user, now=now, timezone=timezone, cursor=cursor, limit=1000)
        for row in page.rows[:EXPORT_LIMIT - given]:
            yield InstanceRow(**{**asdict(row), "phone": mask_phone(row.phone) if masked else row.phone})
        given += len(page.rows)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _cells(row: InstanceRow, now: datetime, zone: ZoneInfo) -> list[Any]:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return [row.instance_id, row.ticket_number or "", row.process_id, row.version, row.status, row.stage or "",
            row.department or "", row.project_key or "", row.unit or "", row.caller or "", row.phone or "",
            row.category or "", row.escalation_level if row.escalation_level is not None else "",
            local(row.started_at), local(row.due_at), local(row.closed_at), "yes" if row.is_overdue(now) else "",
            "; ".join(f"{title} — {who}" for title, who in row.open_tasks)]


def to_csv(rows: list[InstanceRow], *, now: datetime, timezone: str) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    zone = ZoneInfo(timezone)
    for row in rows:
        writer.writerow([_safe_cell(cell) for cell in _cells(row, now, zone)])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(rows: list[InstanceRow], *, now: datetime, timezone: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("instances")
    sheet.append(list(EXPORT_HEADER))
    zone = ZoneInfo(timezone)
    for row in rows:
        sheet.append([_safe_cell(cell) for cell in _cells(row, now, zone)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
