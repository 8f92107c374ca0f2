"""Loading a call (申报通知) from its YAML/JSON definition, validating every part of it.

A call file is data: a new year's call is a new file, not new code. ``parse_call`` checks the whole
definition and raises ``CallDefinitionInvalid`` (a ValidationFailed, code ``call_definition_invalid``)
listing every problem with its path in the file, e.g. ``programmes[2].form.fields[3].type``.

Usage:
    from intake.domain.calls import load_bundled_call, load_call_file, parse_call
    call = load_bundled_call(2025)                 # intake/calls/call_2025.yaml
    call = load_call_file("/path/call_2026.yaml")
    call = parse_call(stored_definition_dict)      # e.g. Call.definition read back from the database

Schema (YAML; keys starting with ``x-`` are ignored, so anchors can live there; a ``fields`` entry may
itself be a list of fields, which lets an anchor share a block such as the bank details):

    year: 2025
    title: ...                                 doc_no: 内人社办发〔2025〕5号
    issued_on: 2025-01-10
    deadline: "2025-01-24T23:59:59"            # local Asia/Shanghai wall time (or with +08:00)
    deadline_note: ...                         # why this instant (free text)
    contacts: [{name, department, phones: [..], email, programmes: [codes]?}]
    mailing_address: {recipient, address}
    programmes:
      - code, name, action, form_name, form_number
        rolling: false                         paper_copies: 2
        eligible_unit_kinds: [league_city, ...]
        quotas: {league_city: {max: 2}, returnee_park: {}}     # {} = unlimited; min = "不少于"
        eligibility_notes: [..]
        attachments: [{kind, label, types: [pdf, jpeg, png], max_bytes, required?, max_count?, help?}]
        timing: {period_field, within_call_year?, window?: {from: "05-01", to: "09-30"},
                 min_working_days?, calendar_days?: {min, max}, days_field?}
        selection: [{key, label, count: {min?, max?}}]
        report: {required, name, due_days_after_end, activity_end_field, note?, attachments?, form?}
        summary: {title?, period?, budget?}    # field keys shown in lists and the 申报汇总表
        form: {fields: [{key, label, type, required?, help?, max_chars?, min_chars?, min?, max?,
                         options?: [{value, label, requires_text?}], other_max_chars?,
                         min_items?, max_items?, fields?}]}
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from grassroots.errors import ValidationFailed
from grassroots.validators import is_email, is_landline, is_mobile

from .model import (FIELD_TYPES, FILE_TYPES, LOCAL_TZ, UNIT_KINDS, Attachment, Call, Contact, Field, Form,
                    MailingAddress, Option, Programme, Range, ReportRule, SelectionCap, Summary, Timing)


class CallDefinitionInvalid(ValidationFailed):
    """A call definition that cannot be used; ``details`` lists each problem with its path."""


_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")


class _Reader:
    """Walks the raw mapping, collecting every problem with its path instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[dict] = []

    def problem(self, path: str, code: str, message: str) -> None:
        self.problems.append({"path": path, "code": code, "message": message})

    def get(self, obj: dict, key: str, path: str, kind: type | tuple, *, required: bool = True,
            default: Any = None) -> Any:
        p = f"{path}.{key}" if path else key
        if key not in obj or obj[key] is None:
            if required:
                self.problem(p, "missing", "缺少必填项")
            return default
        value = obj[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            self.problem(p, "wrong_type", f"类型应为{_kind_name(kind)}")
            return default
        return value

    def keys(self, obj: dict, path: str, allowed: set[str]) -> None:
        for k in obj:
            if not (isinstance(k, str) and (k in allowed or k.startswith("x-"))):
                self.problem(f"{path}.{k}" if path else str(k), "unknown_key", "未知的配置项")

    def mapping(self, value: Any, path: str) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, "wrong_type", "类型应为映射（键值对）")
            return None
        return value

    def items(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            self.problem(path, "wrong_type", "类型应为列表")
            return []
        return value


def _kind_name(kind: type | tuple) -> str:
    names = {str: "文本", int: "整数", bool: "布尔值", list: "列表", dict: "映射"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "或".join(names.get(k, k.__name__) for k in kinds)


def _range(r: _Reader, value: Any, path: str) -> Range:
    m = r.mapping(value, path)
    if m is None:
        return Range()
    r.keys(m, path, {"min", "max"})
    lo = r.get(m, "min", path, int, required=False)
    hi = r.get(m, "max", path, int, required=False)
    for name, v in (("min", lo), ("max", hi)):
        if v is not None and v < 0:
            r.problem(f"{path}.{name}", "negative", "不能为负数")
    if lo is not None and hi is not None and lo > hi:
        r.problem(path, "range_reversed", "下限大于上限")
    return Range(lo, hi)


def _date(r: _Reader, value: Any, path: str) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    r.problem(path, "invalid_date", "日期格式应为 YYYY-MM-DD")
    return None


def _deadline(r: _Reader, value: Any, path: str) -> dt.datetime | None:
    when = value
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            when = None
    if not isinstance(when, dt.datetime):
        r.problem(path, "invalid_datetime", "截止时间格式应为 YYYY-MM-DDTHH:MM:SS（北京时间）")
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=LOCAL_TZ)
    return when.astimezone(LOCAL_TZ)


def _attachment(r: _Reader, value: Any, path: str) -> Attachment | None:
    m = r.mapping(value, path)
    if m is None:
        return None
    r.keys(m, path, {"kind", "label", "types", "max_bytes", "required", "max_count", "help"})
    kind = r.get(m, "kind", path, str, default="")
    if kind and not _KEY_RE.match(kind):
        r.problem(f"{path}.kind", "invalid_key", "应为小写英文、数字和下划线")
    types = tuple(r.get(m, "types", path, list, default=[]))
    for i, t in enumerate(types):
        if t not in FILE_TYPES:
            r.problem(f"{path}.types[{i}]", "unknown_file_type", f"文件类型只能是 {', '.join(FILE_TYPES)}")
    if "types" in m and not types:
        r.problem(f"{path}.types", "empty", "至少允许一种文件类型")
    max_bytes = r.get(m, "max_bytes", path, int, default=0)
    if "max_bytes" in m and max_bytes <= 0:
        r.problem(f"{path}.max_bytes", "not_positive", "应为正整数")
    max_count = r.get(m, "max_count", path, int, required=False, default=1)
    if max_count < 1:
        r.problem(f"{path}.max_count", "not_positive", "应为正整数")
    return Attachment(kind=kind, label=r.get(m, "label", path, str, default=""), types=types,
                      max_bytes=max_bytes, required=r.get(m, "required", path, bool, required=False, default=True),
                      max_count=max_count, help=r.get(m, "help", path, str, required=False, default=""))


def _attachments(r: _Reader, value: Any, path: str) -> tuple[Attachment, ...]:
    out = [a for i, v in enumerate(r.items(value, path)) if (a := _attachment(r, v, f"{path}[{i}]"))]
    _unique(r, [a.kind for a in out], path, "kind")
    return tuple(out)


def _unique(r: _Reader, keys: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for k in keys:
        if k in seen:
            r.problem(path, "duplicate", f"{what} 重复：{k}")
        seen.add(k)


def _flatten(entries: list) -> list:
    out: list = []
    for e in entries:
        out.extend(_flatten(e) if isinstance(e, list) else [e])
    return out


_FIELD_KEYS = {"key", "label", "type", "required", "help", "max_chars", "min_chars", "min", "max", "options",
               "other_max_chars", "min_items", "max_items", "fields"}


def _number(r: _Reader, m: dict, key: str, path: str, money: bool) -> Any:
    if key not in m or m[key] is None:
        return None
    v = m[key]
    if isinstance(v, bool) or not isinstance(v, (int, str) if money else int):
        r.problem(f"{path}.{key}", "wrong_type", "金额界限应为整数或字符串" if money else "类型应为整数")
        return None
    if money:
        try:
            return Decimal(str(v))
        except InvalidOperation:
            r.problem(f"{path}.{key}", "invalid_money", "金额格式有误")
            return None
    return v


def _field(r: _Reader, value: Any, path: str) -> Field | None:
    m = r.mapping(value, path)
    if m is None:
        return None
    r.keys(m, path, _FIELD_KEYS)
    key = r.get(m, "key", path, str, default="")
    if key and not _KEY_RE.match(key):
        r.problem(f"{path}.key", "invalid_key", "字段键应为小写英文、数字和下划线")
    ftype = r.get(m, "type", path, str, default="text")
    if ftype not in FIELD_TYPES:
        r.problem(f"{path}.type", "unknown_field_type", f"不支持的字段类型：{ftype}")
    options: list[Option] = []
    for i, o in enumerate(r.items(m["options"], f"{path}.options") if "options" in m else []):
        op = f"{path}.options[{i}]"
        om = r.mapping(o, op)
        if om is None:
            continue
        r.keys(om, op, {"value", "label", "requires_text"})
        options.append(Option(str(r.get(om, "value", op, (str, int), default="")),
                              r.get(om, "label", op, str, default=""),
                              r.get(om, "requires_text", op, bool, required=False, default=False)))
    _unique(r, [o.value for o in options], f"{path}.options", "选项值")
    if ftype in ("select", "multiselect") and not options:
        r.problem(f"{path}.options", "missing", "单选、多选字段须列出选项")
    if ftype not in ("select", "multiselect") and options:
        r.problem(f"{path}.options", "not_applicable", "只有单选、多选字段可以有选项")
    subfields: tuple[Field, ...] = ()
    if ftype == "group":
        subfields = _fields(r, m.get("fields"), f"{path}.fields")
    elif "fields" in m:
        r.problem(f"{path}.fields", "not_applicable", "只有重复组（group）可以有子字段")
    ints = {k: r.get(m, k, path, int, required=False) for k in
            ("max_chars", "min_chars", "min_items", "max_items", "other_max_chars")}
    for k, v in ints.items():
        if v is not None and v < 0:
            r.problem(f"{path}.{k}", "negative", "不能为负数")
    if ftype in ("text", "textarea") and ints["max_chars"] is None:
        r.problem(f"{path}.max_chars", "missing", "文本字段须规定字数上限")
    if None not in (ints["min_items"], ints["max_items"]) and ints["min_items"] > ints["max_items"]:
        r.problem(path, "range_reversed", "min_items 大于 max_items")
    money = ftype == "money"
    return Field(key=key, label=r.get(m, "label", path, str, default=""), type=ftype,
                 required=r.get(m, "required", path, bool, required=False, default=False),
                 help=r.get(m, "help", path, str, required=False, default=""),
                 max_chars=ints["max_chars"], min_chars=ints["min_chars"],
                 min=_number(r, m, "min", path, money), max=_number(r, m, "max", path, money),
                 options=tuple(options),
                 other_max_chars=ints["other_max_chars"] if ints["other_max_chars"] is not None else 50,
                 min_items=ints["min_items"], max_items=ints["max_items"], fields=subfields)


def _fields(r: _Reader, value: Any, path: str) -> tuple[Field, ...]:
    entries = _flatten(r.items(value, path))
    out = [f for i, v in enumerate(entries) if (f := _field(r, v, f"{path}[{i}]"))]
    keys = [f.key for f in out]
    keys += [f.other_key for f in out if f.has_other]
    _unique(r, keys, path, "字段键")
    if value is not None and not out:
        r.problem(path, "empty", "至少须有一个字段")
    return tuple(out)


def _form(r: _Reader, value: Any, path: str) -> Form:
    m = r.mapping(value, path)
    if m is None:
        return Form(())
    r.keys(m, path, {"fields"})
    return Form(_fields(r, m.get("fields"), f"{path}.fields"))


def _month_day(r: _Reader, value: Any, path: str) -> tuple[int, int] | None:
    match = _MONTH_DAY_RE.match(value) if isinstance(value, str) else None
    if match:
        md = (int(match[1]), int(match[2]))
        try:
            dt.date(2024, *md)  # a leap year, so 02-29 is allowed
            return md
        except ValueError:
            pass
    r.problem(path, "invalid_month_day", "应为 MM-DD，例如 05-01")
    return None


def _expect_field(r: _Reader, form: Form, key: str | None, path: str, types: tuple[str, ...]) -> None:
    if key is None:
        return
    if not form.has(key):
        r.problem(path, "unknown_field", f"表单中没有字段 {key}")
    elif form.field(key).type not in types:
        r.problem(path, "wrong_field_type", f"字段 {key} 的类型应为 {'/'.join(types)}")


def _timing(r: _Reader, value: Any, path: str, form: Form) -> Timing:
    if value is None:
        return Timing()
    m = r.mapping(value, path)
    if m is None:
        return Timing()
    r.keys(m, path, {"period_field", "within_call_year", "window", "min_working_days", "calendar_days",
                     "days_field"})
    period = r.get(m, "period_field", path, str, required=False)
    _expect_field(r, form, period, f"{path}.period_field", ("date_range",))
    days_field = r.get(m, "days_field", path, str, required=False)
    _expect_field(r, form, days_field, f"{path}.days_field", ("integer",))
    window = None
    if m.get("window") is not None:
        wm = r.mapping(m["window"], f"{path}.window")
        if wm is not None:
            r.keys(wm, f"{path}.window", {"from", "to"})
            a = _month_day(r, wm.get("from"), f"{path}.window.from")
            b = _month_day(r, wm.get("to"), f"{path}.window.to")
            if a and b:
                window = (a, b)
                if a > b:
                    r.problem(f"{path}.window", "range_reversed", "起始月日晚于结束月日")
    rules = ("within_call_year", "window", "min_working_days", "calendar_days", "days_field")
    if any(m.get(k) not in (None, False) for k in rules) and period is None:
        r.problem(f"{path}.period_field", "missing", "有时间规则时须指明实施期间字段")
    return Timing(period_field=period,
                  within_call_year=r.get(m, "within_call_year", path, bool, required=False, default=False),
                  window=window,
                  min_working_days=r.get(m, "min_working_days", path, int, required=False),
                  calendar_days=_range(r, m["calendar_days"], f"{path}.calendar_days")
                  if m.get("calendar_days") is not None else None,
                  days_field=days_field)


def _report(r: _Reader, value: Any, path: str, form: Form) -> ReportRule:
    if value is None:
        return ReportRule()
    m = r.mapping(value, path)
    if m is None:
        return ReportRule()
    r.keys(m, path, {"required", "name", "due_days_after_end", "activity_end_field", "note", "attachments",
                     "form"})
    required = r.get(m, "required", path, bool, default=False)
    due = r.get(m, "due_days_after_end", path, int, required=required)
    end_field = r.get(m, "activity_end_field", path, str, required=required)
    _expect_field(r, form, end_field, f"{path}.activity_end_field", ("date_range", "date"))
    if due is not None and due < 0:
        r.problem(f"{path}.due_days_after_end", "negative", "不能为负数")
    return ReportRule(required=required, name=r.get(m, "name", path, str, required=required, default=""),
                      due_days_after_end=due, activity_end_field=end_field,
                      note=r.get(m, "note", path, str, required=False, default=""),
                      attachments=_attachments(r, m["attachments"], f"{path}.attachments")
                      if "attachments" in m else (),
                      form=_form(r, m["form"], f"{path}.form") if "form" in m else None)


_PROGRAMME_KEYS = {"code", "name", "action", "form_name", "form_number", "rolling", "paper_copies",
                   "eligible_unit_kinds", "quotas", "eligibility_notes", "attachments", "timing", "selection",
                   "report", "summary", "form"}


def _programme(r: _Reader, value: Any, path: str) -> Programme | None:
    m = r.mapping(value, path)
    if m is None:
        return None
    r.keys(m, path, _PROGRAMME_KEYS)
    code = r.get(m, "code", path, str, default="")
    if code and not _KEY_RE.match(code):
        r.problem(f"{path}.code", "invalid_key", "项目代码应为小写英文、数字和下划线")
    kinds = tuple(r.get(m, "eligible_unit_kinds", path, list, default=[]))
    for i, k in enumerate(kinds):
        if k not in UNIT_KINDS:
            r.problem(f"{path}.eligible_unit_kinds[{i}]", "unknown_unit_kind",
                      f"未知的申报单位类型：{k}（可用：{', '.join(UNIT_KINDS)}）")
    if "eligible_unit_kinds" in m and not kinds:
        r.problem(f"{path}.eligible_unit_kinds", "empty", "至少须有一种可申报单位类型")
    quotas: dict[str, Range] = {}
    qm = r.get(m, "quotas", path, dict, default={})
    for k, v in qm.items():
        if k not in kinds:
            r.problem(f"{path}.quotas.{k}", "not_eligible", f"单位类型 {k} 不在可申报单位类型之中")
        quotas[k] = _range(r, v if v is not None else {}, f"{path}.quotas.{k}")
    for k in kinds:
        if k not in qm:
            r.problem(f"{path}.quotas", "missing", f"须为单位类型 {k} 规定名额（不限时写 {{}}）")
    form = _form(r, m.get("form"), f"{path}.form")
    selection = []
    for i, s in enumerate(r.items(m["selection"], f"{path}.selection") if "selection" in m else []):
        sp = f"{path}.selection[{i}]"
        sm = r.mapping(s, sp)
        if sm is None:
            continue
        r.keys(sm, sp, {"key", "label", "count"})
        selection.append(SelectionCap(r.get(sm, "key", sp, str, default=""), r.get(sm, "label", sp, str, default=""),
                                      _range(r, sm.get("count", {}), f"{sp}.count")))
    _unique(r, [s.key for s in selection], f"{path}.selection", "key")
    summary = Summary()
    if m.get("summary") is not None:
        sm = r.mapping(m["summary"], f"{path}.summary")
        if sm is not None:
            r.keys(sm, f"{path}.summary", {"title", "period", "budget"})
            summary = Summary(*(r.get(sm, k, f"{path}.summary", str, required=False)
                                for k in ("title", "period", "budget")))
            _expect_field(r, form, summary.title, f"{path}.summary.title", ("text", "textarea", "region"))
            _expect_field(r, form, summary.period, f"{path}.summary.period", ("date_range", "date"))
            _expect_field(r, form, summary.budget, f"{path}.summary.budget", ("money",))
    paper = r.get(m, "paper_copies", path, int, required=False, default=0)
    if paper < 0:
        r.problem(f"{path}.paper_copies", "negative", "不能为负数")
    notes = r.get(m, "eligibility_notes", path, list, required=False, default=[])
    return Programme(
        code=code, name=r.get(m, "name", path, str, default=""), action=r.get(m, "action", path, str, default=""),
        form_name=r.get(m, "form_name", path, str, default=""),
        form_number=r.get(m, "form_number", path, str, required=False, default=""),
        eligible_unit_kinds=kinds, quotas=quotas, form=form,
        attachments=_attachments(r, m["attachments"], f"{path}.attachments") if "attachments" in m else (),
        eligibility_notes=tuple(str(n) for n in notes),
        timing=_timing(r, m.get("timing"), f"{path}.timing", form),
        selection=tuple(selection),
        report=_report(r, m.get("report"), f"{path}.report", form),
        summary=summary, paper_copies=paper,
        rolling=r.get(m, "rolling", path, bool, required=False, default=False))


def _contact(r: _Reader, value: Any, path: str, codes: set[str]) -> Contact | None:
    m = r.mapping(value, path)
    if m is None:
        return None
    r.keys(m, path, {"name", "department", "phones", "email", "programmes"})
    phones = tuple(r.get(m, "phones", path, list, default=[]))
    for i, p in enumerate(phones):
        if not (is_landline(p) or is_mobile(p)):
            r.problem(f"{path}.phones[{i}]", "invalid_phone", f"电话号码格式有误：{p}")
    email = r.get(m, "email", path, str, default="")
    if email and not is_email(email):
        r.problem(f"{path}.email", "invalid_email", f"电子邮箱格式有误：{email}")
    progs = tuple(r.get(m, "programmes", path, list, required=False, default=[]))
    for i, c in enumerate(progs):
        if c not in codes:
            r.problem(f"{path}.programmes[{i}]", "unknown_programme", f"没有该项目类别：{c}")
    return Contact(name=r.get(m, "name", path, str, default=""),
                   department=r.get(m, "department", path, str, default=""),
                   phones=phones, email=email, programmes=progs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


REVIEW_KEYS = {"rubrics", "bonus_policy", "reviewers_per_application", "load_cap"}


def _review_settings(r: "_Reader", m: dict, codes: set[str]) -> None:
    """``review``: how the call wants its applications reviewed, passed on to the review service.

    ``rubrics`` maps a programme code to its rubric (review's shape: criteria with weights, scales and comment
    rules); ``bonus_policy`` the priority-region points; ``reviewers_per_application`` and ``load_cap`` the
    defaults of each round. Intake checks the outline (known keys and programmes, positive integers); the
    review service validates rubrics and points in full when a round is set up from them.
    """
    if "review" not in m:
        return
    rv = r.mapping(m.get("review"), "review")
    if rv is None:
        return
    r.keys(rv, "review", REVIEW_KEYS)
    rubrics = rv.get("rubrics")
    if rubrics is not None:
        rm = r.mapping(rubrics, "review.rubrics")
        for code, rubric in (rm or {}).items():
            if code not in codes:
                r.problem(f"review.rubrics.{code}", "unknown_programme", "没有该项目类别")
            elif not isinstance(rubric, dict) or not isinstance(rubric.get("criteria"), list):
                r.problem(f"review.rubrics.{code}", "wrong_type", "评审细则须列出评审指标（criteria）")
    if "bonus_policy" in rv:
        r.mapping(rv.get("bonus_policy"), "review.bonus_policy")
    for key in ("reviewers_per_application", "load_cap"):
        if key in rv and (not isinstance(rv[key], int) or isinstance(rv[key], bool) or rv[key] < 1):
            r.problem(f"review.{key}", "out_of_range", "须为不小于1的整数")


def parse_call(raw: Any, source: str = "") -> Call:
    """Validate a call definition (the mapping read from YAML or JSON) and build the typed ``Call``.

    Raises CallDefinitionInvalid listing every problem; ``source`` (e.g. a file name) prefixes the message.
    """
    r = _Reader()
    m = r.mapping(raw, "$") or {}
    r.keys(m, "", {"year", "title", "doc_no", "issued_on", "deadline", "deadline_note", "contacts",
                   "mailing_address", "programmes", "review"})
    year = r.get(m, "year", "", int, default=0)
    title = r.get(m, "title", "", str, default="")
    doc_no = r.get(m, "doc_no", "", str, default="")
    deadline_note = r.get(m, "deadline_note", "", str, required=False, default="")
    issued = _date(r, m.get("issued_on"), "issued_on") if "issued_on" in m else None
    if "issued_on" not in m:
        r.problem("issued_on", "missing", "缺少必填项")
    deadline = _deadline(r, m.get("deadline"), "deadline")
    if issued and deadline and deadline.date() < issued:
        r.problem("deadline", "before_issue", "截止时间早于发文日期")
    if year and deadline and deadline.year not in (year - 1, year):
        r.problem("deadline", "wrong_year", f"截止时间不在 {year} 年度申报期内")
    programmes = [p for i, v in enumerate(r.items(m.get("programmes"), "programmes"))
                  if (p := _programme(r, v, f"programmes[{i}]"))]
    if "programmes" in m and not programmes:
        r.problem("programmes", "empty", "至少须有一个项目类别")
    _unique(r, [p.code for p in programmes], "programmes", "项目代码")
    codes = {p.code for p in programmes}
    contacts = [c for i, v in enumerate(r.items(m.get("contacts"), "contacts"))
                if (c := _contact(r, v, f"contacts[{i}]", codes))]
    mailing = MailingAddress("", "")
    mm = r.mapping(m.get("mailing_address"), "mailing_address")
    if mm is not None:
        r.keys(mm, "mailing_address", {"recipient", "address"})
        mailing = MailingAddress(r.get(mm, "recipient", "mailing_address", str, default=""),
                                 r.get(mm, "address", "mailing_address", str, default=""))
    _review_settings(r, m, codes)
    if r.problems:
        first = r.problems[0]
        prefix = f"{source}：" if source else ""
        raise CallDefinitionInvalid(
            "call_definition_invalid",
            f"{prefix}申报通知配置有误，共 {len(r.problems)} 处；第一处 {first['path']}：{first['message']}",
            r.problems)
    return Call(year=year, title=title, doc_no=doc_no, issued_on=issued, deadline=deadline,
                deadline_note=deadline_note, contacts=tuple(contacts), mailing_address=mailing,
                programmes=tuple(programmes),
                definition=json.loads(json.dumps(_jsonable(m), ensure_ascii=False)))


def load_call_text(text: str, source: str = "") -> Call:
    """Parse YAML (or JSON, which is YAML) text into a validated Call."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise CallDefinitionInvalid("call_definition_invalid", f"{source}{where} YAML 语法错误：{exc}",
                                    [{"path": "$", "code": "yaml_syntax", "message": str(exc)}]) from None
    return parse_call(raw, source)


def load_call_file(path: str | Path) -> Call:
    """Load and validate a call file; errors name the file and the path inside it."""
    p = Path(path)
    return load_call_text(p.read_text(encoding="utf-8"), p.name)


def bundled_call_years() -> list[int]:
    """Years of the call files shipped in ``intake/calls``."""
    names = (f.name for f in resources.files("intake.calls").iterdir())
    return sorted(int(m[1]) for n in names if (m := re.match(r"^call_(\d{4})\.yaml$", n)))


def load_bundled_call(year: int) -> Call:
    """The call file shipped with the service for ``year`` (``intake/calls/call_<year>.yaml``)."""
    f = resources.files("intake.calls") / f"call_{year}.yaml"
    return load_call_text(f.read_text(encoding="utf-8"), f"call_{year}.yaml")

