"""Exports for officers and auditors: CSV (UTF-8 with BOM, so Excel shows Chinese) and .xlsx, as bytes.

``columns`` is a sequence of (key, Chinese header); ``rows`` an iterable of mappings. Values: Decimal
amounts (CSV: ¥120,000.00 by default, or plain "120000.00" with ``money="plain"``; xlsx: numeric cells
formatted ¥#,##0.00 so they still sum), aware datetimes shown in Asia/Shanghai, enums by value,
None as empty. Text starting with = + - @ is prefixed with ' so a spreadsheet does not run it as a formula.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from .money import format_yuan, to_wire

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOM = "\ufeff"
Columns = Sequence[tuple[str, str]]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI).replace(tzinfo=None) if value.tzinfo else value


def _text(value: Any, money: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format_yuan(value) if money == "yuan" else to_wire(value)
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        raise TypeError("floats are not exported; use Decimal")
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def to_csv(columns: Columns, rows: Iterable[Mapping[str, Any]], money: str = "yuan") -> bytes:
    """CSV bytes: BOM, header row of Chinese labels, CRLF line ends (what Excel writes)."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([label for _, label in columns])
    keys = [key for key, _ in columns]
    for row in rows:
        writer.writerow([_text(row.get(key), money) for key in keys])
    return buf.getvalue().encode("utf-8")


def to_xlsx(columns: Columns, rows: Iterable[Mapping[str, Any]], sheet_title: str = "导出") -> bytes:
    """.xlsx bytes with one sheet: a bold header row and typed cells (numbers stay numbers)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title[:31])
    bold = Font(bold=True)
    header = []
    for _, label in columns:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = bold
        header.append(cell)
    for i, (_, label) in enumerate(columns):
        ws.column_dimensions[_column_letter(i)].width = max(10, 2 * len(label) + 2)
    ws.append(header)
    keys = [key for key, _ in columns]
    for row in rows:
        out = []
        for key in keys:
            value = row.get(key)
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = '"¥"#,##0.00'
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=_local(value))
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, date):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, int) and not isinstance(value, bool):
                cell = WriteOnlyCell(ws, value=value)
            else:
                cell = WriteOnlyCell(ws, value=_text(value, "yuan"))
            out.append(cell)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(index + 1)
