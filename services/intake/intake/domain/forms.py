"""Validating an application's form data against its programme's form definition.

Two levels, both reporting EVERY problem at once as ``{"path", "code", "message"}`` (paths like
``demands[3].title``, ``service_period.end``, ``activity_forms_other``):

* ``validate_draft(programme, data)`` - what is present has the right type and stays within its limits
  (word limits, option lists, formats, maximum numbers of items). Missing fields are fine.
* ``validate_submission(programme, call, data)`` - everything a draft checks, plus required fields,
  declarations confirmed, minimum numbers of items, and the programme's timing rules (within the call's
  year, the window, working days by the official calendar, on-site days).

Both raise ``ValidationFailed("form_invalid", <Chinese summary>, details=[...])``; the ``*_problems``
variants return the list instead. Everything comes from the programme's form definition in the call
file: no rule here knows a programme by name.

Value shapes (JSON):
    text/textarea/phone/mobile/email/interbank_code/bank_account/uscc/id_number/region: string
    integer: int (or a string of digits); money: "120000.00" or an int - never a float, ≤ 2 decimals, ≥ 0
    date: "2025-06-01"; date_range: {"start": "2025-06-01", "end": "2025-06-07"}
    select: option value; multiselect: [values]; when an option with requires_text (其他) is chosen,
    its text goes in the sibling key "<field>_other"
    boolean/declaration: true/false (a required declaration must be true); group: [{sub-field: value}]
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Iterable

from grassroots import validators as v
from grassroots.errors import ValidationFailed
from grassroots.regions import is_region_code

from .model import Call, Field, Form, Programme
from .textcount import count_chars
from .workdays import CalendarUnavailable, working_days

_MONEY_RE = re.compile(r"^-?\d+(?:\.\d+)?$")
_INT_RE = re.compile(r"^-?\d+$")


def _p(path: str, code: str, message: str) -> dict:
    return {"path": path, "code": code, "message": message}


def is_empty(value: Any) -> bool:
    """Absent for the purpose of "required": None, blank text, empty list or mapping."""
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (list, dict)) and not value)


def parse_money(value: Any) -> Decimal:
    """The exact amount in yuan of a money value (int or string, ≤ 2 decimals); raises ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("money must be an int or a decimal string")
    text = str(value).strip()
    if not _MONEY_RE.match(text):
        raise ValueError("not a decimal amount")
    amount = Decimal(text)
    if amount.as_tuple().exponent < -2:
        raise ValueError("more than two decimals")
    return amount.quantize(Decimal("0.01"))


def parse_date(value: Any) -> dt.date | None:
    """A date from "YYYY-MM-DD", or None if it is not one."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def parse_date_range(value: Any) -> tuple[dt.date, dt.date] | None:
    """(start, end) of a well-formed date_range value, or None."""
    if isinstance(value, dict):
        a, b = parse_date(value.get("start")), parse_date(value.get("end"))
        if a and b:
            return a, b
    return None


def _fmt_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _Checker:
    def __init__(self, submit: bool):
        self.submit = submit
        self.problems: list[dict] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.problems.append(_p(path, code, message))

    # -- containers -------------------------------------------------------------------------------------
    def fields(self, fields: Iterable[Field], data: Any, prefix: str, known: frozenset[str]) -> None:
        """``known``: the keys ``data`` may have (``Form.keys``, ``Field.item_keys``)."""
        if not isinstance(data, dict):
            self.add(prefix or "$", "wrong_type", "表单数据应为键值对")
            return
        for key in data:
            if key not in known:
                self.add(f"{prefix}{key}", "unknown_field", f"表单中没有该项：{key}")
        for f in fields:
            path = f"{prefix}{f.key}"
            value = data.get(f.key)
            if is_empty(value):
                if self.submit and f.required:
                    self.add(path, "required", f"「{f.label}」为必填项")
                self.other_text(f, value, data, prefix)
                continue
            self.value(f, value, path)
            self.other_text(f, value, data, prefix)

    def other_text(self, f: Field, value: Any, data: dict, prefix: str) -> None:
        if not f.has_other:
            return
        chosen = value if isinstance(value, list) else [value]
        needs_text = any((o := f.option(c)) is not None and o.requires_text
                         for c in chosen if isinstance(c, str))
        path = f"{prefix}{f.other_key}"
        text = data.get(f.other_key)
        if is_empty(text):
            if needs_text:
                self.add(path, "other_text_required", f"「{f.label}」选择了“其他”，请填写具体内容")
            return
        if not isinstance(text, str):
            self.add(path, "wrong_type", f"「{f.label}」的“其他”内容应为文本")
        elif not needs_text:
            self.add(path, "other_text_without_other", f"「{f.label}」未选择“其他”，不应填写其他内容")
        elif count_chars(text) > f.other_max_chars:
            self.add(path, "too_long", f"「{f.label}」的“其他”内容最多{f.other_max_chars}字，"
                                       f"现为{count_chars(text)}字")

    # -- one value --------------------------------------------------------------------------------------
    def value(self, f: Field, value: Any, path: str) -> None:
        getattr(self, f"t_{f.type}")(f, value, path)

    def _text(self, f: Field, value: Any, path: str) -> bool:
        if not isinstance(value, str):
            self.add(path, "wrong_type", f"「{f.label}」应为文本")
            return False
        return True

    def t_text(self, f: Field, value: Any, path: str) -> None:
        if not self._text(f, value, path):
            return
        n = count_chars(value)
        if f.max_chars is not None and n > f.max_chars:
            self.add(path, "too_long", f"「{f.label}」超过字数限制：最多{f.max_chars}字，现为{n}字")
        if f.min_chars is not None and n < f.min_chars and (self.submit or n):
            self.add(path, "too_short", f"「{f.label}」至少{f.min_chars}字，现为{n}字")

    t_textarea = t_text

    def _format(self, f: Field, value: Any, path: str, ok: bool, code: str, what: str) -> None:
        if self._text(f, value, path) and not ok:
            self.add(path, code, f"「{f.label}」{what}")

    def t_phone(self, f, value, path):
        self._format(f, value, path, v.is_landline(value), "invalid_phone",
                     "不是有效的固定电话号码，请带区号填写，如 (0471) 6268105")

    def t_mobile(self, f, value, path):
        self._format(f, value, path, v.is_mobile(value), "invalid_mobile", "不是有效的手机号码（11位，以13-19开头）")

    def t_email(self, f, value, path):
        self._format(f, value, path, v.is_email(value), "invalid_email", "不是有效的电子邮箱地址")

    def t_interbank_code(self, f, value, path):
        self._format(f, value, path, v.is_interbank_code(value), "invalid_interbank_code", "应为12位数字")

    def t_bank_account(self, f, value, path):
        self._format(f, value, path, v.is_bank_account(value), "invalid_bank_account", "应为6至32位数字")

    def t_uscc(self, f, value, path):
        self._format(f, value, path, v.is_uscc(value), "invalid_uscc",
                     "不是有效的统一社会信用代码（18位，校验码不符或含非法字符）")

    def t_id_number(self, f, value, path):
        self._format(f, value, path, v.is_id_number(value), "invalid_id_number",
                     "不是有效的居民身份证号码（18位，校验码或出生日期不符）")

    def t_region(self, f, value, path):
        self._format(f, value, path, is_region_code(value), "invalid_region", "应为自治区所辖盟市（含满洲里市、二连浩特市）之一")

    def _bounds(self, f: Field, n: Any, path: str, unit: str = "") -> None:
        if f.min is not None and n < f.min:
            self.add(path, "too_small", f"「{f.label}」不能小于{f.min}{unit}")
        if f.max is not None and n > f.max:
            self.add(path, "too_large", f"「{f.label}」不能大于{f.max}{unit}")

    def t_integer(self, f, value, path):
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "wrong_type", f"「{f.label}」应为整数")
            return
        self._bounds(f, value, path)

    def t_money(self, f, value, path):
        if isinstance(value, float):
            self.add(path, "wrong_type", f"「{f.label}」请以文本形式填写金额，如 \"120000.00\"")
            return
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not _MONEY_RE.match(str(value).strip()):
            self.add(path, "invalid_money", f"「{f.label}」不是有效的金额（单位：元，如 120000.00）")
            return
        amount = Decimal(str(value).strip())
        if amount.as_tuple().exponent < -2:
            self.add(path, "too_many_decimals", f"「{f.label}」最多保留两位小数（精确到分）")
        if amount < 0:
            self.add(path, "negative", f"「{f.label}」不能为负数")
            return
        self._bounds(f, amount, path, "元")

    def t_date(self, f, value, path):
        if parse_date(value) is None:
            self.add(path, "invalid_date", f"「{f.label}」不是有效日期，格式为 YYYY-MM-DD")

    def t_date_range(self, f, value, path):
        if not isinstance(value, dict):
            self.add(path, "wrong_type", f"「{f.label}」应包含开始日期 start 和结束日期 end")
            return
        for k in value:
            if k not in ("start", "end"):
                self.add(f"{path}.{k}", "unknown_field", f"「{f.label}」只有开始日期和结束日期")
        parsed = {}
        for part, name in (("start", "开始日期"), ("end", "结束日期")):
            raw = value.get(part)
            if is_empty(raw):
                if self.submit:
                    self.add(f"{path}.{part}", "required", f"「{f.label}」缺少{name}")
                continue
            parsed[part] = parse_date(raw)
            if parsed[part] is None:
                self.add(f"{path}.{part}", "invalid_date", f"「{f.label}」的{name}不是有效日期，格式为 YYYY-MM-DD")
        if parsed.get("start") and parsed.get("end") and parsed["start"] > parsed["end"]:
            self.add(path, "range_reversed", f"「{f.label}」的开始日期晚于结束日期")

    def t_select(self, f, value, path):
        if not isinstance(value, str):
            self.add(path, "wrong_type", f"「{f.label}」应为选项值")
        elif f.option(value) is None:
            self.add(path, "not_an_option", f"「{f.label}」没有该选项：{value}")

    def t_multiselect(self, f, value, path):
        if not isinstance(value, list):
            self.add(path, "wrong_type", f"「{f.label}」应为选项列表")
            return
        seen: set = set()
        for i, item in enumerate(value):
            if not isinstance(item, str) or f.option(item) is None:
                self.add(f"{path}[{i}]", "not_an_option", f"「{f.label}」没有该选项：{item}")
            elif item in seen:
                self.add(f"{path}[{i}]", "duplicate_option", f"「{f.label}」重复选择了：{f.option(item).label}")
            seen.add(item if isinstance(item, str) else repr(item))
        self._item_counts(f, len(value), path, "选择")

    def _item_counts(self, f: Field, n: int, path: str, verb: str) -> None:
        if f.max_items is not None and n > f.max_items:
            self.add(path, "too_many_items", f"「{f.label}」最多{verb}{f.max_items}项，现为{n}项")
        if self.submit and f.min_items is not None and n < f.min_items:
            self.add(path, "too_few_items", f"「{f.label}」至少须{verb}{f.min_items}项，现为{n}项")

    def t_boolean(self, f, value, path):
        if not isinstance(value, bool):
            self.add(path, "wrong_type", f"「{f.label}」应为是或否")

    def t_declaration(self, f, value, path):
        if not isinstance(value, bool):
            self.add(path, "wrong_type", f"「{f.label}」应为是或否")
        elif self.submit and f.required and value is not True:
            self.add(path, "declaration_required", f"须确认：{f.label}")

    def t_group(self, f, value, path):
        if not isinstance(value, list):
            self.add(path, "wrong_type", f"「{f.label}」应为列表")
            return
        self._item_counts(f, len(value), path, "填写")
        for i, item in enumerate(value):
            self.fields(f.fields, item, f"{path}[{i}].", f.item_keys)


def form_problems(form: Form, data: Any, *, submit: bool) -> list[dict]:
    """Problems of ``data`` against ``form``; ``submit`` adds required fields and minimum item counts."""
    c = _Checker(submit)
    c.fields(form.fields, data, "", form.keys)
    return c.problems


def timing_problems(programme: Programme, call: Call, data: dict) -> list[dict]:
    """Problems with the programme's timing rules; silent when the period is missing or malformed
    (form_problems reports those)."""
    t = programme.timing
    if not t.period_field:
        return []
    period = parse_date_range(data.get(t.period_field)) if isinstance(data, dict) else None
    if period is None or period[0] > period[1]:
        return []
    start, end = period
    label = programme.form.field(t.period_field).label
    path = t.period_field
    out: list[dict] = []
    if t.within_call_year and not (start.year == end.year == call.year):
        out.append(_p(path, "outside_call_year", f"「{label}」应在{call.year}年度内完成实施"))
    if t.window:
        (m1, d1), (m2, d2) = t.window
        lo, hi = dt.date(call.year, m1, d1), dt.date(call.year, m2, d2)
        if start < lo or end > hi:
            out.append(_p(path, "outside_window", f"「{label}」应在{_fmt_date(lo)}至{_fmt_date(hi)}之间"))
    if t.min_working_days:
        try:
            n = working_days(start, end)
        except CalendarUnavailable as exc:
            out.append(_p(path, "calendar_unavailable",
                          f"系统尚无{exc.year}年国家法定节假日安排，无法核算「{label}」的工作日，请联系管理员更新节假日日历"))
        else:
            if n < t.min_working_days:
                out.append(_p(path, "too_few_working_days",
                              f"「{label}」应不少于{t.min_working_days}个工作日（按国家法定节假日安排计算），现为{n}个"))
    days = (end - start).days + 1
    if t.calendar_days is not None and days not in t.calendar_days:
        out.append(_p(path, "days_out_of_range", f"「{label}」应为{t.calendar_days.describe('天')}，现为{days}天"))
    if t.days_field:
        declared = data.get(t.days_field)
        if isinstance(declared, str) and _INT_RE.match(declared.strip()):
            declared = int(declared)
        if isinstance(declared, int) and not isinstance(declared, bool) and declared != days:
            dlabel = programme.form.field(t.days_field).label
            out.append(_p(t.days_field, "days_mismatch",
                          f"「{dlabel}」为{declared}天，与「{label}」的{days}天不一致"))
    return out


def draft_problems(programme: Programme, data: Any) -> list[dict]:
    """Problems of a draft: types and limits of what is present."""
    return form_problems(programme.form, data, submit=False)


def submission_problems(programme: Programme, call: Call, data: Any) -> list[dict]:
    """Problems that stop a submission: everything required, within limits, and the timing rules."""
    problems = form_problems(programme.form, data, submit=True)
    if isinstance(data, dict):
        problems += timing_problems(programme, call, data)
    return problems


def raise_if_problems(problems: list[dict], what: str = "申报表") -> None:
    """Raise ValidationFailed("form_invalid") listing ``problems`` if there are any."""
    if problems:
        raise ValidationFailed("form_invalid",
                               f"{what}有{len(problems)}处需要修改，第一处：{problems[0]['message']}",
                               problems)


def validate_draft(programme: Programme, data: Any) -> None:
    """Raise ValidationFailed("form_invalid") if what a draft contains has wrong types or breaks limits."""
    raise_if_problems(draft_problems(programme, data))


def validate_submission(programme: Programme, call: Call, data: Any) -> None:
    """Raise ValidationFailed("form_invalid") listing every reason the form cannot be submitted yet."""
    raise_if_problems(submission_problems(programme, call, data))


def validate_report(programme: Programme, data: Any, *, submit: bool = True) -> None:
    """Validate a post-activity report's form (if the programme's report has one) the same way."""
    form = programme.report.form
    if form is not None:
        raise_if_problems(form_problems(form, data, submit=submit), "总结报告")
