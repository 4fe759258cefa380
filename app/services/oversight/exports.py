"""Exports of the admin's instance list: CSV (UTF-8 with a BOM, for Excel) and XLSX, phones masked unless asked."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from app.services.access import Actor
from app.services.oversight.instance_search import InstanceFilter, InstanceRow, list_instances
from app.services.work.inbox import mask_phone

EXPORT_LIMIT = 50_000
# Chinese headers: the file is read in Excel by Chinese staff. The ticket number stays as it is (integrations
# match on it); codes are written as their labels through ``label`` (the web layer's, e.g. 运行中, 兰亭苑).
EXPORT_HEADER = ("实例", "工单号", "流程", "版本", "状态", "阶段", "责任部门", "楼盘", "房号",
                 "来电人", "电话", "类别", "升级级别", "发起时间", "时限", "关闭时间", "超时",
                 "待办任务")
CodeLabel = Callable[[str, "str | None"], str]  # (kind, code) -> label; kinds: flow status stage department project


def _code(kind: str, code: str | None) -> str:
    return code or ""


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


def _cells(row: InstanceRow, now: datetime, zone: ZoneInfo, label: CodeLabel) -> list[Any]:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return [row.instance_id, row.ticket_number or "", label("flow", row.process_id), row.version,
            label("status", row.status), label("stage", row.stage), label("department", row.department),
            label("project", row.project_key), row.unit or "", row.caller or "", row.phone or "",
            label("category", row.category), row.escalation_level if row.escalation_level is not None else "",
            local(row.started_at), local(row.due_at), local(row.closed_at), "是" if row.is_overdue(now) else "",
            "; ".join(f"{label('text', title)} — {label('text', who)}" for title, who in row.open_tasks)]


def to_csv(rows: list[InstanceRow], *, now: datetime, timezone: str, label: CodeLabel = _code) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    zone = ZoneInfo(timezone)
    for row in rows:
        writer.writerow([spreadsheet_cell(cell) for cell in _cells(row, now, zone, label)])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(rows: list[InstanceRow], *, now: datetime, timezone: str, label: CodeLabel = _code) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("instances")
    sheet.append(list(EXPORT_HEADER))
    zone = ZoneInfo(timezone)
    for row in rows:
        sheet.append([spreadsheet_cell(cell) for cell in _cells(row, now, zone, label)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@")  # OWASP "CSV Injection": what makes a spreadsheet read a cell as a formula
CONTROL_STARTS = ("\t", "\r", "\n")


def spreadsheet_cell(value: Any) -> Any:
    """A cell of every CSV and XLSX export: text a spreadsheet could run as a formula is kept as text.

    That is text starting with = + - @, a tab, a carriage return or a line feed, and text whose first
    character after leading white space is one of = + - @ (" =1+1", "\\n=HYPERLINK(...)"): Excel and
    LibreOffice skip that space. Such text gets a leading apostrophe, which the spreadsheet shows as text.
    """
    if isinstance(value, str) and (value.startswith(CONTROL_STARTS) or value.lstrip().startswith(FORMULA_STARTS)):
        return "'" + value
    return value
