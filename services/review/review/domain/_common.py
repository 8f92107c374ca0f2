"""Small helpers shared by the review domain modules (numbers, times, problem lists)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from grassroots.errors import BadRequest

PROGRAMMES = {
    "service_team": "专家服务团项目",
    "regional_base": "自治区级专家服务基地",
    "national_base": "国家级专家服务基地",
    "key_expert": "专家服务基层重点联系专家",
    "chizi": "海外赤子为国服务行动",
    "postdoc_hosting": "博士后科技服务团承办",
}

CENT = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def q2(value: Decimal) -> Decimal:
    """Round half up to two places: the precision shown to people and used for comparisons."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def q4(value: Decimal) -> Decimal:
    return value.quantize(TEN_THOUSANDTH, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    """Parse a number without passing through binary floating point artefacts.

    Floats (as YAML or JSON may deliver them) are converted through ``str`` so 0.2 stays 0.2.
    Booleans are refused: ``True`` is an int in Python but never a score.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError("not a number") from exc
    else:
        raise ValueError("not a number")
    if not result.is_finite():
        raise ValueError("not a finite number")
    return result


def is_code(value: Any) -> bool:
    return isinstance(value, str) and bool(_CODE_RE.match(value))


def problem(path: str, code: str, message: str) -> dict:
    return {"path": path, "code": code, "message": message}


def require_aware(moment: dt.datetime, name: str) -> dt.datetime:
    """Domain times are timezone-aware; a naive time would silently mean the server's zone."""
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise BadRequest("naive_datetime", f"时间“{name}”必须带时区", {"field": name})
    return moment


def require_text(value: Any) -> str | None:
    """The stripped text, or None when it is missing or blank."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def programme_label(programme: str) -> str:
    return PROGRAMMES.get(programme, programme)


def same_league(a: str | None, b: str | None) -> bool:
    """Whether two league/city codes designate the same league or city.

    Codes are the 6-digit administrative division codes (GB/T 2260) intake stores on units. Manzhouli
    (150781) and Erenhot (152501) are listed on their own in calls but belong to Hulunbuir (150700) and
    Xilingol (152500): for conflicts of interest and for locating a county, a county-level code and its
    league share the first four digits, so they count as the same place. Unknown codes (None) never match.
    """
    if not a or not b:
        return False
    if a == b:
        return True
    if len(a) == 6 and len(b) == 6 and a.isdigit() and b.isdigit():
        return a[:4] == b[:4]
    return False
