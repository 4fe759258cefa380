"""What the console's outreach pages and the JSON API show alike: a notice's kind in words, its print sheets
(the letterbox run, the notice-board sheet) with the business date, and a survey's answers as a download."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, render_template
from flask_babel import lazy_gettext

from app.services.outreach import notices as notice_service
from app.services.work.reception_log import table_csv, table_xlsx
from app.web.context import runtime

NOTICE_KINDS = {"water_power_cut": lazy_gettext("Water or power cut"),
                "lift_maintenance": lazy_gettext("Lift maintenance"),
                "fee_reminder": lazy_gettext("Fee reminder"), "community_event": lazy_gettext("Community event")}
NOTICE_SHEETS = ("letterbox", "board")
TABLE_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def notice_kind_label(key: str) -> str:
    return str(NOTICE_KINDS.get(key, key))


def business_date(moment: datetime) -> str:
    """"2026年3月5日": the day in business time, as a printed notice is dated."""
    local = moment.astimezone(ZoneInfo(runtime().timezone))
    return f"{local.year}年{local.month}月{local.day}日"


def notice_print_page(notice: notice_service.NoticeView, sheet: str,
                      recipients: Sequence[notice_service.RecipientView]) -> Response:
    """A sent notice's print sheet as an inline PDF: ``letterbox`` one A4 page per unit of ``recipients``,
    ``board`` the notice-board sheet."""
    rt = runtime()
    html = render_template(f"notices/print_{sheet}.html", notice=notice, recipients=recipients,
                           window=notice_service.window_words(notice.starts_at, notice.ends_at, rt.timezone),
                           today=business_date(rt.clock.now()), kind_label=notice_kind_label)
    return Response(notice_service.pdf_of(html), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="notice-{notice.id}-{sheet}.pdf"'})


def table_download(header: list[str], rows: list[list[Any]], *, name: str, kind: str) -> Response:
    """A table as a CSV or XLSX attachment named ``name.kind`` (``kind`` one of ``TABLE_TYPES``)."""
    body = table_csv(header, rows) if kind == "csv" else table_xlsx(header, rows, sheet_name=name)
    return Response(body, content_type=TABLE_TYPES[kind],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'})
