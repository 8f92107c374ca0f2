from decimal import Decimal

import pytest

from grassroots.errors import ValidationFailed
from review.domain.facts import ServicePlace
from review.domain.priority import (BonusPolicy, load_priority_list, priority_bonus, priority_list_from_dict)

LIST = priority_list_from_dict({"source": "test", "counties": [
    {"county": "甲旗", "league_code": "150700", "categories": ["border"]},
    {"county": "乙县", "league_code": "150100", "categories": ["old_revolutionary"]},
    {"county": "丙旗", "league_code": "152200", "categories": ["rural_revitalisation_key", "border"]},
]})
POLICY = BonusPolicy(points={"border": Decimal(3), "rural_revitalisation_key": Decimal(4),
                             "old_revolutionary": Decimal(2)}, cap=Decimal(5))


def test_a_place_on_the_priority_list_earns_its_category_points_with_a_reason():
    bonus = priority_bonus([ServicePlace("乙县", "150100")], LIST, POLICY)
    assert (bonus.points, bonus.category, bonus.place) == (Decimal(2), "old_revolutionary", "乙县")
    assert "革命老区" in bonus.reason


def test_several_places_and_categories_give_the_maximum_once_not_the_sum():
    bonus = priority_bonus([ServicePlace("甲旗"), ServicePlace("乙县"), ServicePlace("丙旗")], LIST, POLICY)
    assert (bonus.points, bonus.category) == (Decimal(4), "rural_revitalisation_key")
    assert len(bonus.matched) == 4 and "不累加" in bonus.reason


def test_the_bonus_is_capped():
    policy = BonusPolicy(points={"border": Decimal(8)}, cap=Decimal(5))
    bonus = priority_bonus([ServicePlace("甲旗")], LIST, policy)
    assert bonus.points == Decimal(5) and "封顶" in bonus.reason


def test_a_place_off_the_list_or_in_another_league_earns_nothing():
    assert priority_bonus([ServicePlace("丁区")], LIST, POLICY).points == 0
    assert priority_bonus([ServicePlace("甲旗", "150100")], LIST, POLICY).points == 0
    assert priority_bonus([ServicePlace("甲旗", "150781")], LIST, POLICY).points == 3  # county-level code in 150700


def test_the_bonus_policy_is_configurable_and_checked():
    policy = BonusPolicy.from_dict({"points": {"border": "2.5"}, "cap": 2})
    assert priority_bonus([ServicePlace("甲旗")], LIST, policy).points == Decimal(2)
    with pytest.raises(ValidationFailed) as err:
        BonusPolicy.from_dict({"points": {"island": 1, "border": -1}, "cap": "x"})
    assert [p["code"] for p in err.value.details] == ["unknown_category", "negative", "not_a_number"]


def test_the_starter_list_holds_the_border_banners_and_says_officers_maintain_it():
    starter = load_priority_list()
    assert starter.source == "starter list, officers maintain"
    names = {c.county for c in starter.counties if "border" in c.categories}
    assert {"满洲里市", "二连浩特市", "额尔古纳市", "新巴尔虎左旗", "新巴尔虎右旗", "陈巴尔虎旗", "阿尔山市",
            "科尔沁右翼前旗", "东乌珠穆沁旗", "阿巴嘎旗", "苏尼特左旗", "苏尼特右旗", "四子王旗",
            "达尔罕茂明安联合旗", "乌拉特中旗", "乌拉特后旗", "阿拉善左旗", "阿拉善右旗", "额济纳旗"} == names
    assert priority_bonus([ServicePlace("额济纳旗", "152900")], starter, BonusPolicy()).points == Decimal(3)


def test_a_malformed_priority_list_is_refused_with_paths():
    with pytest.raises(ValidationFailed) as err:
        priority_list_from_dict({"counties": [{"county": ""}, {"county": "甲", "categories": ["island"]}]})
    assert [(p["path"], p["code"]) for p in err.value.details] == [
        ("counties[0].county", "required"), ("counties[1].categories", "unknown_category")]
