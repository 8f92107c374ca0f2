"""Priority regions (优先支持地区) and the ranking bonus they earn.

The notice asks to serve first 乡村振兴重点帮扶旗县, 边境地区 and 革命老区. Officers maintain the reference
list (``data/priority_counties.yaml``; a starter list of the border banners ships). The bonus rule:

* each category has configurable points (``BonusPolicy.points``);
* an application may serve several places and a place may be in several categories: the bonus is applied
  once, as the maximum points over all categories of all its places (no stacking), then capped at
  ``BonusPolicy.cap``;
* places match the list by county name; when both sides carry a league/city code they must agree
  (``same_league``), which keeps two same-named counties in different leagues apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any, Iterable, Mapping

import yaml

from grassroots.errors import ValidationFailed

from ._common import problem, same_league, to_decimal
from .facts import ServicePlace

CATEGORY_LABELS = {
    "rural_revitalisation_key": "乡村振兴重点帮扶旗县",
    "border": "边境地区",
    "old_revolutionary": "革命老区",
}


@dataclass(frozen=True)
class PriorityCounty:
    county: str
    league_code: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class PriorityList:
    counties: tuple[PriorityCounty, ...]
    source: str = ""
    version: str = ""

    def categories_of(self, place: ServicePlace) -> set[str]:
        found: set[str] = set()
        for c in self.counties:
            if c.county != place.county.strip():
                continue
            if place.league_code and c.league_code and not same_league(place.league_code, c.league_code):
                continue
            found.update(c.categories)
        return found


@dataclass(frozen=True)
class BonusPolicy:
    """Points per category and the cap; defaults: 3 points for rural-revitalisation key counties and
    border areas, 2 for old revolutionary areas, at most 3 points in all."""

    points: Mapping[str, Decimal] = field(default_factory=lambda: {
        "rural_revitalisation_key": Decimal(3), "border": Decimal(3), "old_revolutionary": Decimal(2)})
    cap: Decimal = Decimal(3)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "BonusPolicy":
        if not data:
            return cls()
        problems = []
        points = {}
        for cat, value in (data.get("points") or {}).items():
            if cat not in CATEGORY_LABELS:
                problems.append(problem(f"points.{cat}", "unknown_category", f"未知的优先地区类别：{cat}"))
                continue
            try:
                points[cat] = to_decimal(value)
            except ValueError:
                problems.append(problem(f"points.{cat}", "not_a_number", "加分须为数字"))
                continue
            if points[cat] < 0:
                problems.append(problem(f"points.{cat}", "negative", "加分不能为负数"))
        try:
            cap = to_decimal(data.get("cap", cls().cap))
            if cap < 0:
                problems.append(problem("cap", "negative", "加分上限不能为负数"))
        except ValueError:
            cap = Decimal(0)
            problems.append(problem("cap", "not_a_number", "加分上限须为数字"))
        if problems:
            raise ValidationFailed("bonus_policy_invalid", "优先地区加分设置不正确", problems)
        return cls(points=points, cap=cap)


@dataclass(frozen=True)
class Bonus:
    points: Decimal
    category: str | None
    place: str | None
    reason: str
    matched: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {"points": str(self.points), "category": self.category, "place": self.place,
                "reason": self.reason, "matched": list(self.matched)}


def priority_list_from_dict(data: Mapping[str, Any]) -> PriorityList:
    problems = []
    counties = []
    for i, item in enumerate(data.get("counties") or []):
        path = f"counties[{i}]"
        name = (item.get("county") or "").strip() if isinstance(item, Mapping) else ""
        if not name:
            problems.append(problem(f"{path}.county", "required", "请填写旗县市区名称"))
            continue
        cats = tuple(item.get("categories") or ())
        bad = [c for c in cats if c not in CATEGORY_LABELS]
        if not cats or bad:
            problems.append(problem(f"{path}.categories", "unknown_category",
                                    "类别须为 rural_revitalisation_key、border、old_revolutionary 之一或多个"))
            continue
        code = item.get("league_code")
        counties.append(PriorityCounty(county=name, league_code=str(code) if code else None, categories=cats))
    if problems:
        raise ValidationFailed("priority_list_invalid", "优先支持地区名单格式不正确", problems)
    return PriorityList(counties=tuple(counties), source=str(data.get("source") or ""),
                        version=str(data.get("version") or ""))


def load_priority_list() -> PriorityList:
    """The shipped starter list (officers maintain the live one; the service may store its own copy)."""
    text = resources.files("review.domain.data").joinpath("priority_counties.yaml").read_text(encoding="utf-8")
    return priority_list_from_dict(yaml.safe_load(text))


def priority_bonus(places: Iterable[ServicePlace], priority: PriorityList, policy: BonusPolicy) -> Bonus:
    matched = []
    best: tuple[Decimal, str, str] | None = None
    for place in places:
        for cat in sorted(priority.categories_of(place)):
            pts = policy.points.get(cat, Decimal(0))
            matched.append({"place": place.county, "category": cat, "points": str(pts)})
            if best is None or pts > best[0]:
                best = (pts, cat, place.county)
    if best is None or best[0] <= 0:
        return Bonus(points=Decimal(0), category=None, place=None, reason="服务地点不在优先支持地区名单内，不加分",
                     matched=tuple(matched))
    pts, cat, county = best
    capped = min(pts, policy.cap)
    reason = f"服务地点{county}属于{CATEGORY_LABELS[cat]}，加{capped}分"
    if len(matched) > 1:
        reason += "（多个地点或类别只取最高一项，不累加）"
    if capped < pts:
        reason += f"（已按上限{policy.cap}分封顶）"
    return Bonus(points=capped, category=cat, place=county, reason=reason, matched=tuple(matched))
