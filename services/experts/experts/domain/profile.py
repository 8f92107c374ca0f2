"""An expert's profile: which fields it has, how each is checked, and which the expert may edit.

``clean_profile(data)`` checks every field at once and returns the cleaned values (canonical tags, the
title level's Chinese label, ISO dates) or raises ValidationFailed ``expert_invalid`` listing every
problem ``{path, code, message}``. The resident ID number is checked here for form and check digit only;
the service seals it (``experts.idvault``) and never keeps it in clear.

Usage:
    clean = clean_profile(data)                        # a complete profile (registration)
    clean = clean_profile(patch, partial=True)         # only the fields given (an edit)
    check_self_edit(patch)                             # Forbidden unless every field is one an expert may edit
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from grassroots import validators as v
from grassroots.errors import Forbidden, ValidationFailed
from grassroots.regions import is_region_code

from . import identity, taxonomy

GENDERS = {"male": "男", "female": "女"}
GENDER_BY_LABEL = {label: code for code, label in GENDERS.items()}

#: field -> (Chinese label, max chars) for free text
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "name": ("姓名", 20), "ethnicity": ("民族", 10), "unit_name": ("工作单位", 100), "position": ("职务", 30),
    "title": ("专业技术职称", 30), "specialty": ("专业领域", 500), "research_areas": ("主要研究方向", 300),
    "talent_programmes": ("入选国家和自治区重大人才工程情况", 300), "major_projects": ("承担重大科研工程项目情况", 300),
    "service_record": ("以往参加服务基层活动情况", 800), "email": ("电子邮箱", 200), "mobile": ("手机", 20),
    "office_phone": ("办公电话", 40),
}
REQUIRED = ("name", "gender", "id_number", "league_city_code", "unit_name", "title", "title_level",
            "specialty")
#: birth_year may be left out: the ID number carries it (and a given one must agree with it)
ALL_FIELDS = (*REQUIRED, "birth_year", "ethnicity", "unit_id", "position", "research_areas", "tags", "talent_programmes",
              "major_projects", "service_record", "healthy", "willing", "mobile", "office_phone", "email",
              "capacity", "review_capacity", "unavailable")
#: what an expert may change in their own profile (contact, specialty, declarations, availability);
#: identity, unit, title and load caps are the department's record.
SELF_EDITABLE = frozenset({"mobile", "office_phone", "email", "specialty", "research_areas", "tags", "healthy",
                           "willing", "unavailable", "talent_programmes", "major_projects", "service_record"})
LABELS = {**{k: lbl for k, (lbl, _) in TEXT_FIELDS.items()}, "gender": "性别", "birth_year": "出生年份",
          "id_number": "身份证号码", "league_city_code": "所在盟市", "title_level": "职称级别", "tags": "专业领域标签",
          "healthy": "身体健康声明", "willing": "服务意愿声明", "capacity": "同时承担服务任务上限",
          "review_capacity": "同时承担评审任务上限", "unavailable": "不能参加服务的时段", "unit_id": "工作单位编号"}


def _text(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def parse_day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(_text(value)[:10])
    except ValueError:
        return None


def _problem(problems: list, path: str, code: str, message: str) -> None:
    problems.append({"path": path, "code": code, "message": message})


def clean_unavailable(value: Any, problems: list, path: str = "unavailable") -> list[dict]:
    """[{start, end, reason}] with ISO dates and start <= end."""
    if not isinstance(value, list):
        _problem(problems, path, "wrong_type", "不能参加服务的时段应为列表")
        return []
    out = []
    for i, item in enumerate(value):
        item = item if isinstance(item, dict) else {}
        start, end = parse_day(item.get("start")), parse_day(item.get("end"))
        if start is None or end is None:
            _problem(problems, f"{path}[{i}]", "invalid_date", "请填写起止日期（如 2025-06-01）")
        elif end < start:
            _problem(problems, f"{path}[{i}]", "end_before_start", "结束日期早于开始日期")
        else:
            out.append({"start": start.isoformat(), "end": end.isoformat(), "reason": _text(item.get("reason"))[:100]})
    return out


def clean_profile(data: dict, *, partial: bool = False, today: dt.date | None = None) -> dict:
    """The cleaned fields of ``data``; ValidationFailed ``expert_invalid`` listing every problem."""
    today = today or dt.date.today()
    problems: list[dict] = []
    out: dict[str, Any] = {}
    if not isinstance(data, dict):
        raise ValidationFailed("expert_invalid", "专家信息格式不正确", [])
    unknown = sorted(set(data) - set(ALL_FIELDS))
    for key in unknown:
        _problem(problems, key, "unknown_field", f"不认识的字段：{key}")
    if not partial:
        for key in REQUIRED:
            if data.get(key) in (None, "", []):
                _problem(problems, key, "required", f"请填写{LABELS[key]}")
    present = {k: data[k] for k in ALL_FIELDS if k in data and data[k] is not None}
    for key, (label, limit) in TEXT_FIELDS.items():
        if key in present:
            text = _text(present[key])
            if len(text) > limit:
                _problem(problems, key, "too_long", f"{label}不超过{limit}字，当前{len(text)}字")
            if key in REQUIRED and not text and partial:
                _problem(problems, key, "required", f"请填写{label}")
            out[key] = text
    if out.get("mobile") and not v.is_mobile(out["mobile"]):
        _problem(problems, "mobile", "invalid_mobile", "手机号码应为11位数字")
    if out.get("office_phone") and not v.is_landline(out["office_phone"]) and not v.is_mobile(out["office_phone"]):
        _problem(problems, "office_phone", "invalid_phone", "办公电话格式不正确，如：(0471) 6268105")
    if out.get("email") and not v.is_email(out["email"]):
        _problem(problems, "email", "invalid_email", "电子邮箱格式不正确")
    if "gender" in present:
        g = _text(present["gender"])
        g = GENDER_BY_LABEL.get(g, g)
        if g not in GENDERS:
            _problem(problems, "gender", "invalid_choice", "性别应为男或女")
        out["gender"] = g
    if "birth_year" in present:
        try:
            year = int(present["birth_year"])
            if not 1900 <= year <= today.year:
                raise ValueError
            out["birth_year"] = year
        except (TypeError, ValueError):
            _problem(problems, "birth_year", "invalid_year", "出生年份应为四位年份，如 1972")
    if "id_number" in present:
        problem = identity.id_number_problem(str(present["id_number"]), today=today)
        if problem:
            _problem(problems, "id_number", *problem)
        else:
            out["id_number"] = identity.normalise_id_number(str(present["id_number"]))
            born = int(out["id_number"][6:10])
            if "birth_year" in out and out["birth_year"] != born:
                _problem(problems, "birth_year", "birth_year_mismatch", "出生年份与身份证号码中的出生日期不一致")
            out.setdefault("birth_year", born)
    if "league_city_code" in present:
        code = _text(present["league_city_code"])
        if not is_region_code(code):
            _problem(problems, "league_city_code", "invalid_region", "所在盟市应为自治区所辖盟市（含满洲里市、二连浩特市）之一")
        out["league_city_code"] = code
    if "title_level" in present:
        try:
            out["title_level"] = identity.parse_title_level(present["title_level"]).label
        except ValidationFailed as exc:
            _problem(problems, "title_level", "unknown_title_level", exc.message)
    if "tags" in present:
        if not isinstance(present["tags"], list):
            _problem(problems, "tags", "wrong_type", "专业领域标签应为列表")
        else:
            try:
                out["tags"] = taxonomy.validate_tags(present["tags"])
            except ValidationFailed as exc:
                problems.extend(exc.details or [])
    for key in ("healthy", "willing"):
        if key in present:
            if not isinstance(present[key], bool):
                _problem(problems, key, "wrong_type", f"{LABELS[key]}应为是或否")
            out[key] = bool(present[key])
    for key, hi in (("capacity", 20), ("review_capacity", 50)):
        if key in present:
            try:
                n = int(present[key])
                if not 0 <= n <= hi:
                    raise ValueError
                out[key] = n
            except (TypeError, ValueError):
                _problem(problems, key, "out_of_range", f"{LABELS[key]}应为0到{hi}之间的整数")
    if "unavailable" in present:
        out["unavailable"] = clean_unavailable(present["unavailable"], problems)
    if "unit_id" in present:
        out["unit_id"] = _text(present["unit_id"]) or None
    if problems:
        raise ValidationFailed("expert_invalid", f"专家信息有{len(problems)}处需要修改，第一处：{problems[0]['message']}",
                               problems)
    return out


def check_self_edit(patch: dict) -> None:
    """An expert edits only their contact, specialty, declarations and availability."""
    locked = sorted(set(patch) - SELF_EDITABLE)
    if locked:
        raise Forbidden("expert_fields_locked",
                        "专家本人只能修改联系方式、专业领域、健康与服务意愿声明和不能参加服务的时段，其他信息请联系业务处室修改",
                        {"fields": locked})
