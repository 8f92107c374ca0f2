"""The 申报汇总表: an .xlsx summary of a call's applications, with Chinese headers.

Build rows with ``summary_row`` (it reads the programme's ``summary`` mapping to find the title, period and
budget in each form, so it works for every programme), then ``build_summary_xlsx(rows)`` returns the bytes.

Usage:
    rows = [summary_row(call, call.programme(a["programme_code"]), a) for a in applications]
    data = build_summary_xlsx(rows, title="2025年专家服务基层申报汇总表")

``summary_row``'s application dict: ``unit_name``, ``league_city_code`` (or ``league_city``), ``status``,
``submitted_at`` (aware datetime or ISO string, shown in Asia/Shanghai), ``form``.
A row dict (what ``build_summary_xlsx`` reads; missing keys leave the cell empty): ``call``, ``programme``,
``unit``, ``league_city``, ``status``, ``submitted_at``, ``title``, ``start``, ``end``, ``budget``.
"""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from grassroots.regions import REGIONS

from .forms import parse_date, parse_date_range, parse_money
from .lifecycle import STATUS_LABELS
from .model import LOCAL_TZ, Call, Programme

COLUMNS: list[tuple[str, str, int]] = [  # (row key, header, width)
    ("no", "序号", 6),
    ("call", "申报通知", 28),
    ("programme", "项目类别", 20),
    ("unit", "申报单位", 30),
    ("league_city", "所属盟市", 12),
    ("status", "状态", 10),
    ("submitted_at", "提交时间（北京时间）", 20),
    ("title", "项目（活动、基地、专家）名称", 36),
    ("start", "开始日期", 12),
    ("end", "结束日期", 12),
    ("budget", "预算（元）", 14),
]
HEADERS = [h for _, h, _ in COLUMNS]


def _local(value: Any) -> dt.datetime | None:
    if isinstance(value, str) and value:
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("submitted_at must be timezone-aware")
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)  # Excel has no time zones
    return None


def summary_row(call: Call, programme: Programme, application: dict) -> dict:
    """The summary row of one application, with the programme's key fields picked from its form."""
    form = application.get("form") or {}
    s = programme.summary
    start = end = None
    if s.period:
        rng = parse_date_range(form.get(s.period))
        start, end = rng if rng else (parse_date(form.get(s.period)),) * 2
    budget = None
    if s.budget and form.get(s.budget) is not None:
        try:
            budget = parse_money(form[s.budget])
        except ValueError:
            budget = None
    title = form.get(s.title) if s.title else None
    if s.title and programme.form.has(s.title) and programme.form.field(s.title).type == "region":
        title = REGIONS[title].name if title in REGIONS else title
    code = application.get("league_city_code")
    return {
        "call": call.title,
        "programme": programme.name,
        "unit": application.get("unit_name"),
        "league_city": REGIONS[code].name if code in REGIONS else application.get("league_city", code),
        "status": application.get("status"),
        "submitted_at": application.get("submitted_at"),
        "title": title,
        "start": start,
        "end": end,
        "budget": budget,
    }


def build_summary_xlsx(rows: Iterable[dict], title: str = "申报汇总表") -> bytes:
    """An .xlsx workbook (as bytes) with one sheet titled ``title``: a header row and one row per dict."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]  # Excel's sheet-name limit
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, row in enumerate(rows, start=1):
        values = []
        for key, _, _ in COLUMNS:
            value = i if key == "no" else row.get(key)
            if key == "status":
                value = STATUS_LABELS.get(value, value)
            elif key == "submitted_at":
                value = _local(value)
            elif key in ("start", "end") and isinstance(value, str):
                value = parse_date(value)
            elif key == "budget" and value is not None and not isinstance(value, Decimal):
                value = parse_money(value)
            values.append(value)
        ws.append(values)
        r = ws.max_row
        for j, (key, _, _) in enumerate(COLUMNS, start=1):
            cell = ws.cell(row=r, column=j)
            if key == "submitted_at":
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif key in ("start", "end"):
                cell.number_format = "yyyy-mm-dd"
            elif key == "budget":
                cell.number_format = "#,##0.00"
    for j, (_, _, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
