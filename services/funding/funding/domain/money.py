"""Exact yuan amounts: parse, check, format.

Money is ``decimal.Decimal`` with exactly two places. Parsing never rounds: "1.005" is refused rather than
silently turned into 1.00 or 1.01, because a rounded amount in a payment order is a wrong amount. Floats are
refused outright (0.1 + 0.2 is not 0.3 in binary).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from grassroots.errors import ValidationFailed

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# numeric(18,2): 16 integer digits.
MAX_AMOUNT = Decimal("9999999999999999.99")

_STRIP = str.maketrans("", "", ",，_ \u3000")


def _problem(path: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(code, message, [{"path": path, "code": code, "message": message}])


def parse_yuan(value: Any, path: str = "amount") -> Decimal:
    """Parse an amount in yuan from a str, int or Decimal; return a Decimal quantised to 0.01.

    Accepts "120000", "120000.5", "120,000.00", "¥120,000.00", " 12 " and ints. Refuses floats, bools,
    more than two decimal places, NaN/Infinity, and amounts beyond numeric(18,2).
    Raises ValidationFailed(code="invalid_amount") with one detail at ``path``.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise _problem(path, "invalid_amount", "金额必须以字符串或整数给出，不接受浮点数")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip().translate(_STRIP)
        negative = text.startswith("-")
        if negative:
            text = text[1:]
        text = text.lstrip("¥￥")
        if not text or not all(c.isdigit() and c.isascii() or c == "." for c in text) or text.count(".") > 1:
            raise _problem(path, "invalid_amount", f"金额格式不正确：{value!r}，应为如 120000.00 的数字")
        try:
            amount = Decimal(("-" if negative else "") + text)
        except InvalidOperation:
            raise _problem(path, "invalid_amount", f"金额格式不正确：{value!r}") from None
    else:
        raise _problem(path, "invalid_amount", "金额必须以字符串或整数给出")
    if not amount.is_finite():
        raise _problem(path, "invalid_amount", "金额必须是有限的数字")
    if amount != amount.quantize(CENT):
        raise _problem(path, "invalid_amount", "金额最多保留两位小数（精确到分）")
    amount = amount.quantize(CENT)
    if abs(amount) > MAX_AMOUNT:
        raise _problem(path, "invalid_amount", "金额超出允许范围")
    return amount


def require_positive(amount: Decimal, path: str = "amount") -> Decimal:
    """Return ``amount`` if it is a two-place Decimal > 0, else raise ValidationFailed(amount_not_positive)."""
    if not isinstance(amount, Decimal) or isinstance(amount, bool):
        raise _problem(path, "invalid_amount", "金额必须为精确小数")
    if amount <= 0:
        raise _problem(path, "amount_not_positive", "金额必须大于零")
    return amount


def parse_positive_yuan(value: Any, path: str = "amount") -> Decimal:
    """parse_yuan followed by require_positive."""
    return require_positive(parse_yuan(value, path), path)


def format_yuan(amount: Decimal, symbol: bool = True) -> str:
    """Format for people and Chinese exports: ¥120,000.00, -¥1,000.50; ``symbol=False`` gives 120,000.00."""
    if isinstance(amount, float) or not isinstance(amount, (Decimal, int)) or isinstance(amount, bool):
        raise TypeError("format_yuan takes a Decimal or int, never a float")
    amount = Decimal(amount).quantize(CENT)
    sign = "-" if amount < 0 else ""
    return f"{sign}{'¥' if symbol else ''}{abs(amount):,.2f}"


def to_wire(amount: Decimal) -> str:
    """The JSON/RPC form of an amount: a plain string with two places, e.g. "120000.00"."""
    return f"{Decimal(amount).quantize(CENT):f}"
