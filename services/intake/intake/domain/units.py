"""Applicant units (申报单位): the checks on a unit's registry entry.

Usage:
    validate_unit({"name": "呼和浩特市人力资源和社会保障局", "kind": "league_city",
                   "league_city_code": "150100", "uscc": "11150100...", "contacts": [...]})
    # raises ValidationFailed("unit_invalid", ..., details=[{path, code, message}, ...])

A unit's league/city is one of the 14 applicant regions (the 12 leagues/cities plus 满洲里市 and 二连浩特市);
its unified social credit code is checked by its GB 32100 check character.
"""
from __future__ import annotations

from typing import Any

from grassroots.errors import ValidationFailed

from .forms import form_problems
from .model import UNIT_KINDS, Field, Form, Option

UNIT_FORM = Form((
    Field("name", "单位名称", "text", required=True, max_chars=100),
    Field("kind", "单位类型", "select", required=True,
          options=tuple(Option(k, label) for k, label in UNIT_KINDS.items())),
    Field("league_city_code", "所属盟市", "region", required=True),
    Field("uscc", "统一社会信用代码", "uscc", required=True),
    Field("contacts", "联系人", "group", max_items=10, fields=(
        Field("name", "姓名", "text", required=True, max_chars=20),
        Field("department", "部门", "text", max_chars=50),
        Field("phone", "固定电话", "phone"),
        Field("mobile", "手机", "mobile"),
        Field("email", "电子邮箱", "email"),
    )),
))


def unit_problems(data: Any) -> list[dict]:
    """Every problem of a unit's registry entry, with its path."""
    return form_problems(UNIT_FORM, data, submit=True)


def validate_unit(data: Any) -> None:
    """Raise ValidationFailed("unit_invalid") listing every problem of a unit's registry entry."""
    problems = unit_problems(data)
    if problems:
        raise ValidationFailed("unit_invalid", f"申报单位信息有{len(problems)}处需要修改，第一处：{problems[0]['message']}",
                               problems)
