from datetime import date

import pytest
from grassroots.errors import Conflict, ValidationFailed

from experts.domain.identity import (
    TitleLevel, eligible_for_pool, id_number_birth_date, id_number_check_char, id_number_hash,
    is_valid_id_number, mask_id_number, parse_title_level, validate_id_number,
)

VALID = "11010519491231002X"  # the standard's worked example


def with_check(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def test_the_standard_example_with_an_x_check_character_is_valid():
    assert validate_id_number(VALID) == VALID
    assert id_number_birth_date(VALID) == date(1949, 12, 31)


def test_a_lower_case_x_and_full_width_digits_are_folded_to_the_canonical_form():
    assert validate_id_number(VALID.lower()) == VALID
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in VALID)
    assert validate_id_number(full_width) == VALID


def test_a_wrong_check_digit_is_refused_with_its_own_code():
    wrong = VALID[:17] + "1"
    with pytest.raises(ValidationFailed) as exc:
        validate_id_number(wrong)
    assert exc.value.code == "id_number_bad_check_digit"
    assert "校验位" in exc.value.message
    assert exc.value.details[0]["path"] == "id_number"


def test_a_number_of_the_wrong_length_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        validate_id_number(VALID[:15])
    assert exc.value.code == "id_number_wrong_length"


def test_letters_inside_the_number_are_refused():
    with pytest.raises(ValidationFailed) as exc:
        validate_id_number("1501021980A1011234")
    assert exc.value.code == "id_number_bad_characters"


def test_an_impossible_birth_date_is_refused_even_with_a_correct_check_digit():
    with pytest.raises(ValidationFailed) as exc:
        validate_id_number(with_check("15010219800231123"))
    assert exc.value.code == "id_number_bad_birth_date"


def test_a_birth_date_in_the_future_is_refused():
    number = with_check("15010220300101123")
    assert not is_valid_id_number(number, today=date(2025, 1, 1))
    assert is_valid_id_number(with_check("15010219800101123"), today=date(2025, 1, 1))


def test_the_masked_form_keeps_the_division_code_and_the_last_four():
    number = with_check("15010219800101123")
    assert mask_id_number(number) == "150102********" + number[-4:]


def test_the_keyed_hash_is_stable_per_key_and_differs_between_keys():
    a = id_number_hash(VALID, key=b"k1")
    assert a == id_number_hash(VALID.lower(), key=b"k1")
    assert a != id_number_hash(VALID, key=b"k2")
    assert len(a) == 64 and VALID not in a


def test_hashing_without_a_key_is_refused():
    with pytest.raises(ValueError):
        id_number_hash(VALID, key=b"")


def test_title_levels_are_ordered_from_senior_down_to_none():
    order = [parse_title_level(x) for x in ("正高级", "副高级", "中级", "初级", "无")]
    assert order == sorted(order, reverse=True)
    assert TitleLevel.SENIOR > TitleLevel.ASSOCIATE_SENIOR > TitleLevel.INTERMEDIATE > TitleLevel.JUNIOR \
        > TitleLevel.NONE
    assert parse_title_level("SENIOR") is TitleLevel.SENIOR and TitleLevel.SENIOR.label == "正高级"


def test_an_unknown_title_level_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        parse_title_level("特级")
    assert exc.value.code == "unknown_title_level"


@pytest.mark.parametrize("level", ["正高级", "副高级"])
def test_associate_senior_or_above_is_eligible_for_the_pool_without_exception(level):
    result = eligible_for_pool(level)
    assert not result.by_exception


def test_below_associate_senior_without_a_reason_is_refused_by_the_pool():
    with pytest.raises(Conflict) as exc:
        eligible_for_pool("中级")
    assert exc.value.code == "title_below_pool_minimum"
    assert "副高级" in exc.value.message


def test_below_associate_senior_is_admitted_when_an_officer_records_a_reason():
    result = eligible_for_pool(TitleLevel.INTERMEDIATE, exception_reason="  长期扎根基层的乡土专家 ")
    assert result.by_exception and result.exception_reason == "长期扎根基层的乡土专家"


def test_a_blank_exception_reason_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        eligible_for_pool("初级", exception_reason="   ")
    assert exc.value.code == "exception_reason_blank"
