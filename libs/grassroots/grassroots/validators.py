"""Format and check-digit validators for Chinese identifiers and contact details.

Every function is pure and answers a bool (``is_*``) or computes a check character (``*_check_char``);
callers turn a False into their own Chinese message and error code. None of them raises on bad input
of the wrong type: a non-string is simply not valid.

Usage:
    from grassroots import validators as v
    v.is_uscc("914403001922038216")         # True: GB 32100-2015 check character
    v.is_id_number("11010519491231002X")    # True: GB 11643-1999, ISO 7064 MOD 11-2, real birth date
    v.is_mobile("13912345678")              # True: 11 digits, 1[3-9]...
    v.is_landline("(0471) 6268105")         # True: area code 0xx(x), 7-8 digit number, optional extension
    v.is_email("nmgzjc2023@126.com")
    v.is_interbank_code("102191000015")     # True: 12 digits (开户行联行号 / CNAPS code)
    v.is_bank_account("6222 0202 0000 1234") # True: 6-32 digits once spaces are removed
"""
from __future__ import annotations

import datetime as dt
import re

# --- unified social credit code (统一社会信用代码), GB 32100-2015 -----------------------------------------
# 31 characters: digits and capitals without I, O, Z, S, V.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are ``first17`` (raises ValueError if bad)."""
    if len(first17) != 17 or any(c not in USCC_CHARSET for c in first17):
        raise ValueError("first17 must be 17 characters of the USCC charset")
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_uscc(value: object) -> bool:
    """True if ``value`` is an 18-character unified social credit code with a correct check character.

    Lower-case letters are refused: the code is printed in capitals on every licence, and accepting
    both would let one unit register twice.
    """
    if not isinstance(value, str) or not _USCC_RE.match(value):
        return False
    return uscc_check_char(value[:17]) == value[17]


# --- resident identity card number (公民身份号码), GB 11643-1999 ----------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[1-9]\d{16}[\dX]$")


def id_check_char(first17: str) -> str:
    """The 18th character (ISO 7064 MOD 11-2) of an ID number whose first 17 digits are ``first17``."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("first17 must be 17 digits")
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_birth_date(value: str) -> dt.date | None:
    """The birth date encoded in an 18-digit ID number, or None if it is not a real date."""
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except (ValueError, IndexError):
        return None


def is_id_number(value: object, today: dt.date | None = None) -> bool:
    """True if ``value`` is an 18-character ID number: check digit right, birth date real and not in the future.

    The final ``X`` must be a capital (as printed on the card). 15-digit first-generation numbers expired
    in 2013 and are refused.
    """
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    born = id_birth_date(value)
    if born is None or born.year < 1900 or born > (today or dt.date.today()):
        return False
    return id_check_char(value[:17]) == value[17]


# --- contact details ------------------------------------------------------------------------------------
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Area code 0 + 2-3 digits, optionally in half- or full-width brackets, optional space or hyphen, a local
# number of 7-8 digits not starting with 0 or 1, and an optional extension (-123 or 转123).
_LANDLINE_RE = re.compile(r"^(?:[(（]0\d{2,3}[)）]\s?|0\d{2,3}[-\s]?)[2-9]\d{6,7}(?:(?:-|转)\d{1,6})?$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")


def is_mobile(value: object) -> bool:
    """True for a mainland mobile number: 11 digits starting 13-19."""
    return isinstance(value, str) and bool(_MOBILE_RE.match(value))


def is_landline(value: object) -> bool:
    """True for a landline with area code, e.g. ``(0471) 6268105``, ``（0471）6944364``, ``0471-6268105``."""
    return isinstance(value, str) and bool(_LANDLINE_RE.match(value.strip()))


def is_email(value: object) -> bool:
    """True for a plain ``local@domain.tld`` address without spaces (what a unit would type on a form)."""
    return (isinstance(value, str) and len(value) <= 254 and ".." not in value
            and bool(_EMAIL_RE.match(value)))


# --- bank details ---------------------------------------------------------------------------------------
def is_interbank_code(value: object) -> bool:
    """True for a 12-digit interbank (CNAPS) code, 开户行联行号."""
    return isinstance(value, str) and len(value) == 12 and value.isascii() and value.isdigit()


def normalise_bank_account(value: str) -> str:
    """An account number as digits only: the spaces people type every four digits are dropped."""
    return re.sub(r"\s+", "", value)


def is_bank_account(value: object) -> bool:
    """True for an account number of 6-32 digits, spaces ignored (corporate accounts vary by bank)."""
    if not isinstance(value, str):
        return False
    digits = normalise_bank_account(value)
    return 6 <= len(digits) <= 32 and digits.isascii() and digits.isdigit()
