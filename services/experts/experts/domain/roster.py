"""The recommendation table (专家推荐表, 表4) as .xlsx: reading an import, writing the pool's export.

Import columns are the recommendation form's fields under their Chinese labels (``IMPORT_COLUMNS``); the
header row may hold them in any order and extra columns are ignored; a required column that is missing
is one error for the whole sheet. Each cell is parsed to the profile's field (性别 男/女, 所在盟市 by name
or code, 职称级别 正高级/副高级/..., declarations 是/否, tags separated by 、，,；;) and each data row
is checked with ``profile.clean_profile``; every problem is reported as ``{row, column, code, message}``
(row = the Excel row number, column = the Chinese header) so the officer can fix the sheet in one pass.

Usage:
    rows, problems = read_import(xlsx_bytes)     # rows: [(excel_row, clean_profile_dict)]
    data = build_pool_xlsx(experts)              # experts: dicts as the service lists them (masked ID)
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font

from grassroots.errors import ValidationFailed
from grassroots.regions import REGIONS

from . import profile

#: (field, header, required) in the order of the recommendation form.
IMPORT_COLUMNS: list[tuple[str, str, bool]] = [
    ("name", "姓名", True),
    ("gender", "性别", True),
    ("birth_year", "出生年份", False),
    ("ethnicity", "民族", False),
    ("id_number", "身份证号码", True),
    ("league_city_code", "所在盟市", True),
    ("unit_name", "工作单位", True),
    ("position", "职务", False),
    ("title", "专业技术职称", True),
    ("title_level", "职称级别", True),
    ("specialty", "专业领域", True),
    ("research_areas", "主要研究方向", False),
    ("tags", "专业领域标签", False),
    ("talent_programmes", "入选国家和自治区重大人才工程情况", False),
    ("major_projects", "承担重大科研工程项目情况", False),
    ("service_record", "以往参加服务基层活动情况", True),
    ("healthy", "本人身体健康，能适应基层环境", True),
    ("willing", "本人具有服务基层的良好意愿，愿意应邀参加服务活动", True),
    ("mobile", "手机", True),
    ("office_phone", "办公电话", False),
    ("email", "电子邮箱", True),
]
HEADER_OF = {f: h for f, h, _ in IMPORT_COLUMNS}
MAX_ROWS = 2000
MAX_BYTES = 5 * 1024 * 1024
YES = {"是", "yes", "y", "true", "1", "√", "✓", "同意"}
NO = {"否", "no", "n", "false", "0", "×", "不同意"}
_REGION_BY_NAME = {r.name: code for code, r in REGIONS.items()}
_TAG_SPLIT = re.compile(r"[、，,；;\s/]+")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 1972 and 13947112345 as floats
    return str(value).strip()


def _parse_cell(field: str, value: Any) -> tuple[Any, tuple[str, str] | None]:
    """(value for clean_profile, None) or (None, (code, message)) for a cell that cannot be read."""
    text = _cell_text(value)
    if field == "league_city_code":
        code = _REGION_BY_NAME.get(text, text)
        return code, None
    if field in ("healthy", "willing"):
        if not text:
            return None, None
        low = text.lower()
        if low in YES:
            return True, None
        if low in NO:
            return False, None
        return None, ("invalid_choice", "请填写“是”或“否”")
    if field == "tags":
        return [t for t in _TAG_SPLIT.split(text) if t], None
    if field == "birth_year":
        return (text or None), None
    return text, None


def read_import(data: bytes) -> tuple[list[tuple[int, dict]], list[dict]]:
    """The data rows as clean profiles, and every problem found; nothing is half-read."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed("import_too_large", f"导入文件不能超过{MAX_BYTES // 1024 // 1024}MB")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed("import_not_xlsx", "无法读取导入文件，请上传 Excel（.xlsx）格式的专家推荐表") from None
    ws = wb.worksheets[0]
    rows_iter = ws.iter_rows(values_only=True)
    header = next(rows_iter, None) or ()
    position = {}
    for i, cell in enumerate(header):
        text = _cell_text(cell).replace("*", "").strip()
        for field, head, _ in IMPORT_COLUMNS:
            if text == head and field not in position:
                position[field] = i
    problems: list[dict] = []
    for field, head, required in IMPORT_COLUMNS:
        if required and field not in position:
            problems.append({"row": 1, "column": head, "code": "missing_column", "message": f"缺少“{head}”列"})
    if problems:
        wb.close()
        return [], problems
    out: list[tuple[int, dict]] = []
    count = 0
    for excel_row, values in enumerate(rows_iter, start=2):
        if values is None or all(_cell_text(v) == "" for v in values):
            continue
        count += 1
        if count > MAX_ROWS:
            problems.append({"row": excel_row, "column": "", "code": "too_many_rows",
                             "message": f"一次最多导入{MAX_ROWS}名专家"})
            break
        raw: dict[str, Any] = {}
        row_problems = []
        for field, i in position.items():
            value, problem = _parse_cell(field, values[i] if i < len(values) else None)
            if problem:
                row_problems.append({"row": excel_row, "column": HEADER_OF[field], "code": problem[0],
                                     "message": problem[1]})
            elif value not in (None, "", []):
                raw[field] = value
        try:
            clean = profile.clean_profile(raw)
        except ValidationFailed as exc:
            for p in exc.details or []:
                field = str(p.get("path", "")).split("[")[0]
                if not any(rp["column"] == HEADER_OF.get(field) for rp in row_problems):
                    row_problems.append({"row": excel_row, "column": HEADER_OF.get(field, field),
                                         "code": p["code"], "message": p["message"]})
            clean = None
        if row_problems:
            problems.extend(row_problems)
        elif clean is not None:
            out.append((excel_row, clean))
    wb.close()
    if not out and not problems:
        problems.append({"row": 2, "column": "", "code": "no_rows", "message": "导入文件中没有专家数据"})
    return out, problems


def template_xlsx() -> bytes:
    """An empty import sheet with the headers (required ones marked *)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "专家推荐表"
    ws.append([("*" if req else "") + head for _, head, req in IMPORT_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


#: (key in the listed expert dict, header, width)
EXPORT_COLUMNS: list[tuple[str, str, int]] = [
    ("no", "序号", 6), ("name", "姓名", 10), ("gender_label", "性别", 6), ("birth_year", "出生年份", 9),
    ("ethnicity", "民族", 8), ("id_number_masked", "身份证号码", 20), ("league_city", "所在盟市", 12),
    ("unit_name", "工作单位", 28), ("position", "职务", 12), ("title", "专业技术职称", 14),
    ("title_level", "职称级别", 9), ("specialty", "专业领域", 24), ("tags_text", "专业领域标签", 20),
    ("research_areas", "主要研究方向", 24), ("talent_programmes", "入选国家和自治区重大人才工程情况", 28),
    ("mobile", "手机", 14), ("email", "电子邮箱", 24), ("pool_status_label", "入库状态", 12),
    ("pool_exception_reason", "破格理由", 20), ("recommended_by", "推荐单位", 28),
]


def build_pool_xlsx(experts: list[dict], title: str = "专家服务基层重点联系专家库") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([h for _, h, _ in EXPORT_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, e in enumerate(experts, start=1):
        row = {**e, "no": i, "gender_label": profile.GENDERS.get(e.get("gender"), ""),
               "league_city": REGIONS[e["league_city_code"]].name if e.get("league_city_code") in REGIONS else "",
               "tags_text": "、".join(e.get("tags") or []),
               "recommended_by": "；".join(r.get("unit_name") or "" for r in e.get("recommendations") or [])}
        ws.append([row.get(key) if row.get(key) is not None else "" for key, _, _ in EXPORT_COLUMNS])
    for idx, (_, _, width) in enumerate(EXPORT_COLUMNS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
