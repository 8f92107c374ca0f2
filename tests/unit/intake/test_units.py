import pytest

from grassroots.errors import ValidationFailed
from intake.domain.units import unit_problems, validate_unit

GOOD = {"name": "满洲里市人力资源和社会保障局", "kind": "league_city", "league_city_code": "150781",
        "uscc": "914403001922038216",
        "contacts": [{"name": "王芳", "phone": "(0470) 6222222", "mobile": "13904700000", "email": "a@b.cn"}]}


def test_a_complete_unit_entry_is_valid():
    validate_unit(GOOD)


def test_a_unit_with_a_bad_credit_code_unknown_kind_and_region_lists_every_problem():
    bad = dict(GOOD, uscc="914403001922038217", kind="village", league_city_code="110000")
    with pytest.raises(ValidationFailed) as e:
        validate_unit(bad)
    assert e.value.code == "unit_invalid"
    assert {d["path"] for d in e.value.details} == {"uscc", "kind", "league_city_code"}


def test_a_unit_needs_its_credit_code():
    assert {p["path"] for p in unit_problems(dict(GOOD, uscc=""))} == {"uscc"}
