import datetime as dt

import pytest

from grassroots import validators as v


def test_real_unified_social_credit_codes_pass_their_check_character():
    assert v.is_uscc("914403001922038216")  # 华为技术有限公司
    assert v.is_uscc("9144030071526726XG")  # 腾讯科技（深圳）有限公司


def test_a_uscc_with_one_character_changed_fails_its_check_character():
    assert not v.is_uscc("914403001922038217")
    assert not v.is_uscc("914403001922038316")


@pytest.mark.parametrize("bad", ["", "91440300192203821", "9144030019220382160", "9144030071526726xg",
                                 "914403001922O38216", None, 914403001922038216])
def test_a_uscc_of_wrong_length_charset_or_type_is_refused(bad):
    assert not v.is_uscc(bad)


def test_uscc_check_char_is_computed_mod_31():
    assert v.uscc_check_char("91440300192203821") == "6"
    with pytest.raises(ValueError):
        v.uscc_check_char("9144030019220382I")


def test_the_standard_id_number_example_passes_and_its_neighbours_fail():
    assert v.is_id_number("11010519491231002X")
    assert not v.is_id_number("110105194912310021")
    assert not v.is_id_number("11010519491231002x")


def test_an_id_number_with_an_impossible_or_future_birth_date_is_refused():
    first = "11010519490231002"  # 31 Feb
    assert not v.is_id_number(first + v.id_check_char(first))
    future = "11010520990101002"
    assert not v.is_id_number(future + v.id_check_char(future), today=dt.date(2025, 1, 1))


def test_fifteen_digit_id_numbers_are_no_longer_accepted():
    assert not v.is_id_number("110105491231002")


@pytest.mark.parametrize("ok", ["13912345678", "19900001111", "15047100000"])
def test_mobiles_are_eleven_digits_starting_13_to_19(ok):
    assert v.is_mobile(ok)


@pytest.mark.parametrize("bad", ["12912345678", "1391234567", "139123456789", "+8613912345678", 13912345678])
def test_other_mobiles_are_refused(bad):
    assert not v.is_mobile(bad)


@pytest.mark.parametrize("ok", ["(0471) 6268105", "（0471）6944364", "0471-6268105", "04716268105",
                                "010-62345678", "(0471)6268105-801", "0471-6268105转12"])
def test_landlines_with_area_code_are_accepted(ok):
    assert v.is_landline(ok)


@pytest.mark.parametrize("bad", ["6268105", "13912345678", "(471) 6268105", "0471-0268105", "0471-62681"])
def test_landlines_without_area_code_or_with_a_bad_number_are_refused(bad):
    assert not v.is_landline(bad)


@pytest.mark.parametrize("ok", ["nmgzjc2023@126.com", "rstzjc2021@126.com", "a.b+c@mail.nm.gov.cn"])
def test_plain_email_addresses_are_accepted(ok):
    assert v.is_email(ok)


@pytest.mark.parametrize("bad", ["nm gzjc2023@ 126.com", "nmgzjc2023@126", "@126.com", "a..b@126.com", "a@b..com"])
def test_mangled_email_addresses_are_refused(bad):
    assert not v.is_email(bad)


def test_an_interbank_code_is_exactly_twelve_ascii_digits():
    assert v.is_interbank_code("102191000015")
    assert not v.is_interbank_code("10219100001")
    assert not v.is_interbank_code("1021910000155")
    assert not v.is_interbank_code("１０２１９１００００１５")


def test_a_bank_account_is_six_to_thirty_two_digits_with_spaces_ignored():
    assert v.is_bank_account("6222 0202 0000 1234")
    assert v.is_bank_account("123456") and not v.is_bank_account("12345")
    assert v.is_bank_account("1" * 32) and not v.is_bank_account("1" * 33)
    assert not v.is_bank_account("6222-0202")
