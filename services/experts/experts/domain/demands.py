"""Grassroots demands (需求清单): checking a posted demand, and reading the demands of a postdoc hosting form.

A demand names its field, what is needed, the place (with its league/city), the dates and how many
experts are wanted. The postdoc hosting form (2025 call, 附件3) carries 10-15 demands in its group
``demands`` (items ``title``, ``demand_unit``, ``field``, ``description``); the place is the form's
``venue`` (a league/city code), the dates its ``held_period``; the form does not say how many experts
each demand wants, so each wants one (officers may change it).

Usage:
    clean = clean_demand(data)                      # ValidationFailed demand_invalid listing every problem
    items = postdoc_demands(application_payload)    # [clean demand dicts] in form order
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from grassroots.errors import ValidationFailed
from grassroots.regions import REGIONS, is_region_code

from . import taxonomy
from .profile import _text, parse_day

MAX_WANTED = 20
FIELDS = ("title", "description", "field", "demand_unit", "league_city_code", "place", "start", "end",
          "experts_wanted", "tags", "unit_id", "call_id")
TEXT_LIMITS = {"title": ("需求名称", 100), "description": ("需求内容", 1000), "field": ("所属领域", 30),
               "demand_unit": ("需求单位", 100), "place": ("服务地点", 200)}


def clean_demand(data: dict, *, partial: bool = False) -> dict:
    problems: list[dict] = []
    out: dict[str, Any] = {}
    if not isinstance(data, dict):
        raise ValidationFailed("demand_invalid", "需求格式不正确", [])
    for key in sorted(set(data) - set(FIELDS)):
        problems.append({"path": key, "code": "unknown_field", "message": f"不认识的字段：{key}"})
    if not partial:
        for key, label in (("title", "需求名称"), ("description", "需求内容"), ("league_city_code", "所在盟市"),
                           ("start", "开始日期"), ("end", "结束日期")):
            if data.get(key) in (None, ""):
                problems.append({"path": key, "code": "required", "message": f"请填写{label}"})
    for key, (label, limit) in TEXT_LIMITS.items():
        if key in data and data[key] is not None:
            text = _text(data[key])
            if len(text) > limit:
                problems.append({"path": key, "code": "too_long", "message": f"{label}不超过{limit}字，当前{len(text)}字"})
            out[key] = text
    if data.get("league_city_code") not in (None, ""):
        if not is_region_code(data["league_city_code"]):
            problems.append({"path": "league_city_code", "code": "invalid_region",
                             "message": "所在盟市应为自治区所辖盟市（含满洲里市、二连浩特市）之一"})
        out["league_city_code"] = data["league_city_code"]
    for key in ("start", "end"):
        if data.get(key) not in (None, ""):
            day = parse_day(data[key])
            if day is None:
                problems.append({"path": key, "code": "invalid_date", "message": "日期格式应为 2025-06-01"})
            out[key] = day
    if isinstance(out.get("start"), dt.date) and isinstance(out.get("end"), dt.date) and out["end"] < out["start"]:
        problems.append({"path": "end", "code": "end_before_start", "message": "结束日期早于开始日期"})
    if "experts_wanted" in data:
        try:
            n = int(data["experts_wanted"])
            if not 1 <= n <= MAX_WANTED:
                raise ValueError
            out["experts_wanted"] = n
        except (TypeError, ValueError):
            problems.append({"path": "experts_wanted", "code": "out_of_range",
                             "message": f"所需专家人数应为1到{MAX_WANTED}之间的整数"})
    if "tags" in data:
        try:
            out["tags"] = taxonomy.validate_tags(data["tags"] or [])
        except ValidationFailed as exc:
            problems.extend(exc.details or [])
    for key in ("unit_id", "call_id"):
        if data.get(key):
            out[key] = str(data[key])
    if problems:
        raise ValidationFailed("demand_invalid", f"需求有{len(problems)}处需要修改，第一处：{problems[0]['message']}",
                               problems)
    return out


def postdoc_demands(payload: dict) -> list[dict]:
    """The demands of a submitted postdoc hosting application (intake's ``application_submitted`` payload).

    Items that lack a title are skipped: intake validated the form at submission, so this only guards
    against a malformed event, which must not block the rest.
    """
    app = payload["application"]
    form = app.get("form") or {}
    venue = form.get("venue") if is_region_code(form.get("venue")) else app.get("league_city_code")
    period = form.get("held_period") or {}
    start, end = parse_day(period.get("start")), parse_day(period.get("end"))
    place = REGIONS[venue].name if venue in REGIONS else ""
    out = []
    for i, item in enumerate(form.get("demands") or []):
        if not isinstance(item, dict) or not _text(item.get("title")):
            continue
        field = _text(item.get("field"))[:30]
        tag = taxonomy.canonical_tag(field) if field else None
        out.append({"index": i, "title": _text(item["title"])[:100], "demand_unit": _text(item.get("demand_unit"))[:100],
                    "field": field, "description": _text(item.get("description"))[:1000],
                    "league_city_code": venue, "place": place, "start": start, "end": end or start,
                    "experts_wanted": 1, "tags": [tag] if tag else []})
    return out


def matching_text(title: str, field: str, description: str) -> str:
    """What the matcher reads of a demand: its field weighs like its title and description."""
    return " ".join(t for t in (field, title, description) if t)
