from decimal import Decimal

import pytest

from grassroots.errors import ValidationFailed
from funding.domain.money import format_yuan, parse_positive_yuan, parse_yuan, require_positive, to_wire


@pytest.mark.parametrize("text, expected", [
    ("120000", "120000.00"), ("120000.5", "120000.50"), ("120,000.00", "120000.00"), ("¥120,000.00", "120000.00"),
    ("￥1，000", "1000.00"), (" 12 ", "12.00"), ("-3.10", "-3.10"), (7, "7.00"), (Decimal("0.01"), "0.01"),
])
def test_amounts_parse_exactly_from_strings_ints_and_decimals(text, expected):
    assert parse_yuan(text) == Decimal(expected)
    assert parse_yuan(text).as_tuple().exponent == -2


@pytest.mark.parametrize("value", [0.1, 100.0, True])
def test_floats_and_bools_are_refused(value):
    with pytest.raises(ValidationFailed) as err:
        parse_yuan(value)
    assert err.value.code == "invalid_amount"


@pytest.mark.parametrize("text", ["1.005", "abc", "", "1.2.3", "NaN", "Infinity", "1e5", "１２", "12元",
                                  "99999999999999999.00"])
def test_malformed_over_precise_or_huge_amounts_are_refused_not_rounded(text):
    with pytest.raises(ValidationFailed) as err:
        parse_yuan(text, path="budget.amount")
    assert err.value.details[0]["path"] == "budget.amount"


def test_zero_and_negative_amounts_are_not_positive():
    for text in ("0", "-1.00"):
        with pytest.raises(ValidationFailed) as err:
            parse_positive_yuan(text)
        assert err.value.code == "amount_not_positive"
    assert require_positive(Decimal("0.01")) == Decimal("0.01")


def test_amounts_format_with_thousands_separators_for_chinese_exports():
    assert format_yuan(Decimal("120000")) == "¥120,000.00"
    assert format_yuan(Decimal("-1000.5")) == "-¥1,000.50"
    assert format_yuan(Decimal("1234567.89"), symbol=False) == "1,234,567.89"
    assert to_wire(Decimal("5")) == "5.00"
    with pytest.raises(TypeError):
        format_yuan(1.5)
