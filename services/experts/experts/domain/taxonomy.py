"""The maintained specialty tag list (专业领域标签) and its synonyms.

A tag is one of ``SPECIALTY_TAGS``; a synonym (e.g. 兽医 -> 畜牧兽医) is folded to its tag on input.
The same synonyms feed the text matcher (``text.py``): a text that mentions 兽医 also carries the tag
畜牧兽医, so an expert tagged 畜牧兽医 and a demand asking for 兽医 find each other.

Usage:
    tags = validate_tags(["兽医", "稀土"])          # ["畜牧兽医", "稀土"]; ValidationFailed lists every unknown tag
    canonical_tag("光伏")                           # "新能源"
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from grassroots.errors import ValidationFailed

#: tag -> synonyms. Add here when officers ask for a new field; keep synonyms unambiguous
#: (one synonym, one tag).
SPECIALTY_TAGS: dict[str, tuple[str, ...]] = {
    "农牧业": ("农业", "种植", "农作物", "牧业", "农牧", "设施农业"),
    "畜牧兽医": ("畜牧", "兽医", "养殖", "疫病防控", "动物防疫", "牛羊", "肉羊", "肉牛", "奶牛", "绒山羊",
             "布病", "口蹄疫", "兽药"),
    "草原生态": ("草原", "草地", "草场", "生态修复", "荒漠化", "沙化治理"),
    "林业": ("造林", "森林", "林草", "经济林", "防护林"),
    "水利": ("水资源", "灌溉", "节水", "水土保持", "农田水利"),
    "医疗卫生": ("医疗", "卫生", "临床", "医学", "公共卫生", "护理", "蒙医", "中医"),
    "教育": ("教学", "教师培训", "职业教育", "基础教育"),
    "信息技术": ("信息化", "软件", "大数据", "人工智能", "数字化", "物联网"),
    "新能源": ("光伏", "风电", "储能", "氢能", "清洁能源"),
    "化工": ("煤化工", "精细化工", "化学工程"),
    "冶金": ("钢铁", "有色金属", "金属材料"),
    "稀土": ("稀土材料", "稀土永磁", "稀土功能材料"),
    "矿业": ("采矿", "选矿", "煤矿", "矿山"),
    "装备制造": ("机械制造", "装备", "数控", "智能制造"),
    "食品加工": ("乳制品", "肉制品", "农产品加工", "食品安全"),
    "文化旅游": ("旅游", "文旅", "非遗", "民族文化"),
    "经济管理": ("企业管理", "电子商务", "金融", "市场营销", "财务"),
    "法律": ("法律服务", "法治", "司法", "律师"),
}

_SYNONYM_TO_TAG: dict[str, str] = {}
for _tag, _synonyms in SPECIALTY_TAGS.items():
    _SYNONYM_TO_TAG[_tag] = _tag
    for _syn in _synonyms:
        if _syn in _SYNONYM_TO_TAG:  # pragma: no cover - guarded by a test
            raise RuntimeError(f"synonym {_syn} maps to two tags")
        _SYNONYM_TO_TAG[_syn] = _tag


def _norm(word: str) -> str:
    return unicodedata.normalize("NFKC", str(word)).strip()


def canonical_tag(word: str) -> str | None:
    """The tag a word names (the tag itself or one of its synonyms), else None."""
    return _SYNONYM_TO_TAG.get(_norm(word))


def all_terms() -> list[str]:
    """Every tag and synonym: the text matcher keeps them whole when segmenting."""
    return list(_SYNONYM_TO_TAG)


def validate_tags(tags: Iterable[str], *, path: str = "tags") -> list[str]:
    """Canonical tags in input order without duplicates; ValidationFailed listing every unknown one."""
    result: list[str] = []
    problems = []
    for i, raw in enumerate(tags):
        tag = canonical_tag(raw)
        if tag is None:
            problems.append({"path": f"{path}[{i}]", "code": "unknown_specialty_tag",
                             "message": f"“{_norm(raw)}”不在专业领域标签目录中"})
        elif tag not in result:
            result.append(tag)
    if problems:
        raise ValidationFailed("unknown_specialty_tag", "专业领域标签不在目录中，请从目录中选择", problems)
    return result
