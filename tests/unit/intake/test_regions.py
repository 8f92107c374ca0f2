import pytest

from grassroots import regions
from grassroots.regions import UnknownRegion, parent_league, region, region_relation

EXPECTED_LEAGUES = {
    "150100": "呼和浩特市", "150200": "包头市", "150300": "乌海市", "150400": "赤峰市",
    "150500": "通辽市", "150600": "鄂尔多斯市", "150700": "呼伦贝尔市", "150800": "巴彦淖尔市",
    "150900": "乌兰察布市", "152200": "兴安盟", "152500": "锡林郭勒盟", "152900": "阿拉善盟",
}


def test_the_twelve_leagues_and_cities_carry_their_division_codes():
    assert {c: r.name for c, r in regions.LEAGUES.items()} == EXPECTED_LEAGUES


def test_manzhouli_and_erenhot_are_listed_on_their_own_beside_the_twelve():
    assert len(regions.REGIONS) == 14
    assert region("150781").name == "满洲里市" and not region("150781").is_league
    assert region("152501").name == "二连浩特市" and not region("152501").is_league


def test_manzhouli_lies_in_hulunbuir_and_erenhot_in_xilingol():
    assert parent_league("150781").name == "呼伦贝尔市"
    assert parent_league("152501").name == "锡林郭勒盟"
    assert parent_league("150100").code == "150100"


def test_an_unknown_code_is_refused_with_a_clear_error():
    with pytest.raises(UnknownRegion) as e:
        region("110000")
    assert e.value.code == "unknown_region" and "110000" in e.value.message


def test_the_neighbour_relation_is_symmetric_and_never_reflexive():
    for a, ns in regions.NEIGHBOURS.items():
        assert a not in ns
        for b in ns:
            assert a in regions.NEIGHBOURS[b]


def test_every_league_has_at_least_one_neighbour_so_matching_can_widen():
    assert all(regions.NEIGHBOURS[c] for c in regions.LEAGUES)


@pytest.mark.parametrize("a,b,expected", [
    ("150100", "150100", "same"),
    ("150781", "150700", "same"),       # Manzhouli inside Hulunbuir
    ("150100", "150200", "neighbour"),  # Hohhot - Baotou
    ("150600", "152900", "neighbour"),  # Ordos - Alxa
    ("152200", "150700", "neighbour"),  # Hinggan - Hulunbuir
    ("152501", "150900", "neighbour"),  # Erenhot (Xilingol) - Ulanqab
    ("150100", "150700", "elsewhere"),  # Hohhot - Hulunbuir
    ("152900", "150500", "elsewhere"),  # Alxa - Tongliao
    ("150400", "152200", "elsewhere"),  # Chifeng - Hinggan do not touch
])
def test_region_relation_tells_same_neighbour_or_elsewhere(a, b, expected):
    assert region_relation(a, b) == expected
    assert region_relation(b, a) == expected
