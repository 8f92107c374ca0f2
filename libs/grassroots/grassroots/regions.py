"""The leagues and cities of Inner Mongolia that apply to and are served by the programmes.

The department addresses its notices to "各盟市人力资源和社会保障局，满洲里市、二连浩特市人力资源和社会保障局":
the 12 leagues/cities (盟市) plus the two county-level cities Manzhouli and Erenhot, which apply on their
own. Each region is identified by its administrative division code (GB/T 2260), kept as a 6-digit string.

Usage:
    from grassroots.regions import REGIONS, region, parent_league, region_relation

    region("150100").name                       # '呼和浩特市'
    parent_league("150781").name                # '呼伦贝尔市' (Manzhouli lies inside Hulunbuir)
    region_relation("150100", "150200")         # 'neighbour'
    region_relation("150781", "150700")         # 'same'
    region_relation("150100", "150700")         # 'elsewhere'

``region_relation`` is what expert matching uses: an expert from the same league/city, from a
neighbouring one, or from elsewhere. Manzhouli and Erenhot are compared through the league they lie in,
because distance and travel are geographic even though they apply on their own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import BadRequest

Relation = Literal["same", "neighbour", "elsewhere"]


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    #: True for the 12 leagues/cities (盟市); False for Manzhouli and Erenhot (listed on their own).
    is_league: bool
    #: code of the league/city it lies in geographically; its own code for a league/city.
    parent_code: str


_LEAGUES = [
    ("150100", "呼和浩特市"),
    ("150200", "包头市"),
    ("150300", "乌海市"),
    ("150400", "赤峰市"),
    ("150500", "通辽市"),
    ("150600", "鄂尔多斯市"),
    ("150700", "呼伦贝尔市"),
    ("150800", "巴彦淖尔市"),
    ("150900", "乌兰察布市"),
    ("152200", "兴安盟"),
    ("152500", "锡林郭勒盟"),
    ("152900", "阿拉善盟"),
]

_SEPARATELY_LISTED = [
    ("150781", "满洲里市", "150700"),
    ("152501", "二连浩特市", "152500"),
]

#: All regions that may act as applicant league/city, in the order the department lists them.
REGIONS: dict[str, Region] = {code: Region(code, name, True, code) for code, name in _LEAGUES}
REGIONS.update({code: Region(code, name, False, parent) for code, name, parent in _SEPARATELY_LISTED})

#: The 12 leagues/cities only.
LEAGUES: dict[str, Region] = {code: r for code, r in REGIONS.items() if r.is_league}

# Land borders between leagues/cities inside the region (each pair once; the relation is made symmetric
# below). Pairs separated only by the Yellow River count as neighbours: bridges cross it and the
# department treats them as adjoining (e.g. 鄂尔多斯 "北隔黄河与巴彦淖尔、包头、呼和浩特相望").
_BORDERS = [
    ("152900", "150800"),  # 阿拉善盟 - 巴彦淖尔市
    ("152900", "150300"),  # 阿拉善盟 - 乌海市
    ("152900", "150600"),  # 阿拉善盟 - 鄂尔多斯市
    ("150300", "150600"),  # 乌海市 - 鄂尔多斯市
    ("150800", "150600"),  # 巴彦淖尔市 - 鄂尔多斯市
    ("150800", "150200"),  # 巴彦淖尔市 - 包头市
    ("150600", "150200"),  # 鄂尔多斯市 - 包头市
    ("150600", "150100"),  # 鄂尔多斯市 - 呼和浩特市
    ("150200", "150100"),  # 包头市 - 呼和浩特市
    ("150200", "150900"),  # 包头市 - 乌兰察布市
    ("150100", "150900"),  # 呼和浩特市 - 乌兰察布市
    ("150900", "152500"),  # 乌兰察布市 - 锡林郭勒盟
    ("152500", "150400"),  # 锡林郭勒盟 - 赤峰市
    ("152500", "150500"),  # 锡林郭勒盟 - 通辽市
    ("152500", "152200"),  # 锡林郭勒盟 - 兴安盟
    ("150400", "150500"),  # 赤峰市 - 通辽市
    ("150500", "152200"),  # 通辽市 - 兴安盟
    ("152200", "150700"),  # 兴安盟 - 呼伦贝尔市
]

NEIGHBOURS: dict[str, frozenset[str]] = {
    code: frozenset({b for a, b in _BORDERS if a == code} | {a for a, b in _BORDERS if b == code})
    for code in LEAGUES
}


class UnknownRegion(BadRequest):
    """A code that is not one of the 14 applicant regions."""


def region(code: str) -> Region:
    """The region with this administrative division code; raises UnknownRegion (code ``unknown_region``)."""
    try:
        return REGIONS[str(code)]
    except KeyError:
        raise UnknownRegion("unknown_region", f"未知的盟市代码：{code}", {"code": code}) from None


def is_region_code(code: object) -> bool:
    """True if ``code`` is one of the 14 applicant regions' codes."""
    return isinstance(code, str) and code in REGIONS


def parent_league(code: str) -> Region:
    """The league/city a region lies in: itself for a league/city, 呼伦贝尔市 for 满洲里市, 锡林郭勒盟 for 二连浩特市."""
    return REGIONS[region(code).parent_code]


def neighbours(code: str) -> frozenset[str]:
    """Codes of the leagues/cities bordering the league/city that ``code`` lies in."""
    return NEIGHBOURS[parent_league(code).code]


def region_relation(a: str, b: str) -> Relation:
    """How two regions relate for matching: ``same`` league/city, ``neighbour`` (shared border), or ``elsewhere``."""
    pa, pb = parent_league(a).code, parent_league(b).code
    if pa == pb:
        return "same"
    if pb in NEIGHBOURS[pa]:
        return "neighbour"
    return "elsewhere"
