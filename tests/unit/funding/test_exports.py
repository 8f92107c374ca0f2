import csv
import io
from datetime import datetime, timezone
from decimal import Decimal

from openpyxl import load_workbook

from funding.domain.exports import to_csv, to_xlsx

COLUMNS = [("unit", "申报单位"), ("amount", "拨付金额"), ("paid_at", "拨付时间"), ("note", "备注")]
ROWS = [
    {"unit": "满洲里市人力资源和社会保障局", "amount": Decimal("120000.00"),
     "paid_at": datetime(2025, 5, 1, 2, 30, tzinfo=timezone.utc), "note": "首批"},
    {"unit": "二连浩特市", "amount": Decimal("-500.5"), "paid_at": None, "note": "=HYPERLINK(\"x\")"},
]


def test_csv_starts_with_a_bom_and_carries_chinese_headers_and_formatted_values():
    data = to_csv(COLUMNS, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["申报单位", "拨付金额", "拨付时间", "备注"]
    assert rows[1] == ["满洲里市人力资源和社会保障局", "¥120,000.00", "2025-05-01 10:30:00", "首批"]
    assert rows[2][1] == "-¥500.50" and rows[2][2] == ""


def test_csv_text_cannot_smuggle_a_spreadsheet_formula():
    rows = list(csv.reader(io.StringIO(to_csv(COLUMNS, ROWS).decode("utf-8-sig"))))
    assert rows[2][3].startswith("'=")


def test_csv_can_give_plain_amounts_for_machines():
    rows = list(csv.reader(io.StringIO(to_csv(COLUMNS, ROWS, money="plain").decode("utf-8-sig"))))
    assert rows[1][1] == "120000.00"


def test_xlsx_keeps_amounts_numeric_with_a_yuan_format_and_times_in_shanghai():
    wb = load_workbook(io.BytesIO(to_xlsx(COLUMNS, ROWS, sheet_title="拨付明细")))
    ws = wb["拨付明细"]
    assert [c.value for c in ws[1]] == ["申报单位", "拨付金额", "拨付时间", "备注"]
    amount = ws["B2"]
    assert amount.value == 120000 and "¥" in amount.number_format
    assert ws["C2"].value == datetime(2025, 5, 1, 10, 30)
    assert ws["D3"].value.startswith("'=")
