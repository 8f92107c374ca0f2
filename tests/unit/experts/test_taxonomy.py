import pytest
from grassroots.errors import ValidationFailed

from experts.domain.taxonomy import SPECIALTY_TAGS, canonical_tag, validate_tags


def test_synonyms_fold_to_their_tag_and_duplicates_collapse():
    assert validate_tags(["兽医", "畜牧兽医", "稀土", "光伏"]) == ["畜牧兽医", "稀土", "新能源"]


def test_every_unknown_tag_is_reported_at_once_with_its_path():
    with pytest.raises(ValidationFailed) as exc:
        validate_tags(["林业", "炼丹", "占卜"])
    assert exc.value.code == "unknown_specialty_tag"
    assert [p["path"] for p in exc.value.details] == ["tags[1]", "tags[2]"]


def test_no_synonym_names_two_tags():
    seen = {}
    for tag, synonyms in SPECIALTY_TAGS.items():
        for word in (tag, *synonyms):
            assert seen.setdefault(word, tag) == tag
    assert canonical_tag("草场") == "草原生态" and canonical_tag("炼丹") is None


def test_the_taxonomy_covers_the_regions_main_fields():
    for tag in ("农牧业", "畜牧兽医", "草原生态", "林业", "水利", "医疗卫生", "教育", "信息技术", "新能源",
                "化工", "冶金", "稀土", "矿业", "装备制造", "食品加工", "文化旅游", "经济管理", "法律"):
        assert tag in SPECIALTY_TAGS
