"""Who an expert is: resident ID numbers, professional title levels and admission to the key-contact pool.

A resident ID number (居民身份证号码, GB 11643-1999) is never stored or logged in full: keep
``id_number_hash(number, key)`` for look-ups and de-duplication and ``mask_id_number(number)`` for display.

Usage:
    number = validate_id_number(raw)                 # ValidationFailed if malformed
    masked = mask_id_number(number)                  # "150102********1234"
    digest = id_number_hash(number, key=secret)      # hex HMAC-SHA256, stable for one key
    level = parse_title_level("副高级")               # TitleLevel.ASSOCIATE_SENIOR
    eligible_for_pool(level)                         # PoolEligibility(by_exception=False, ...)
    eligible_for_pool(TitleLevel.INTERMEDIATE, exception_reason="长期扎根基层的乡土专家")
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date

from grassroots.errors import Conflict, ValidationFailed

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # ISO 7064 MOD 11-2: index is the weighted sum mod 11


def normalise_id_number(raw: str) -> str:
    """Full-width digits and a lower-case x are common in typed and imported data; fold them."""
    return unicodedata.normalize("NFKC", str(raw or "")).strip().upper()


def id_number_check_char(first17: str) -> str:
    """The check character (0-9 or X) of the first 17 digits."""
    total = sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def id_number_problem(raw: str, *, today: date | None = None) -> tuple[str, str] | None:
    """``(code, Chinese message)`` of the first problem with an ID number, or None if it is valid."""
    number = normalise_id_number(raw)
    if len(number) != 18:
        return "id_number_wrong_length", f"身份证号码应为18位，当前为{len(number)}位"
    if not (number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")):
        return "id_number_bad_characters", "身份证号码前17位应为数字，最后一位应为数字或X"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "id_number_bad_birth_date", "身份证号码中的出生日期不是有效日期"
    if born.year < 1900 or born > (today or date.today()):
        return "id_number_bad_birth_date", "身份证号码中的出生日期不在合理范围内"
    if id_number_check_char(number[:17]) != number[17]:
        return "id_number_bad_check_digit", "身份证号码校验位不正确，请核对后重新填写"
    return None


def is_valid_id_number(raw: str, *, today: date | None = None) -> bool:
    return id_number_problem(raw, today=today) is None


def validate_id_number(raw: str, *, path: str = "id_number", today: date | None = None) -> str:
    """The normalised number, or ValidationFailed whose details name ``path`` (never the number itself)."""
    problem = id_number_problem(raw, today=today)
    if problem is not None:
        code, message = problem
        raise ValidationFailed(code, message, [{"path": path, "code": code, "message": message}])
    return normalise_id_number(raw)


def id_number_birth_date(number: str) -> date:
    number = validate_id_number(number)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def mask_id_number(number: str) -> str:
    """Division code (6) and last 4 kept, the birth date and sequence hidden: ``150102********1234``."""
    number = validate_id_number(number)
    return number[:6] + "*" * 8 + number[-4:]


def id_number_hash(number: str, key: bytes | str) -> str:
    """Hex HMAC-SHA256 of the normalised number. A keyed hash, because 18-digit IDs are few enough
    (birth dates x sequences) that a plain hash can be reversed by enumeration."""
    if not key:
        raise ValueError("id_number_hash needs a non-empty key")
    key_bytes = key.encode() if isinstance(key, str) else bytes(key)
    number = validate_id_number(number)
    return hmac.new(key_bytes, number.encode("ascii"), hashlib.sha256).hexdigest()


class TitleLevel(enum.IntEnum):
    """Professional title level (专业技术职称级别); the integer order is the seniority order."""

    NONE = 0
    JUNIOR = 1
    INTERMEDIATE = 2
    ASSOCIATE_SENIOR = 3
    SENIOR = 4

    @property
    def label(self) -> str:
        return _TITLE_LABELS[self]


_TITLE_LABELS = {
    TitleLevel.SENIOR: "正高级",
    TitleLevel.ASSOCIATE_SENIOR: "副高级",
    TitleLevel.INTERMEDIATE: "中级",
    TitleLevel.JUNIOR: "初级",
    TitleLevel.NONE: "无",
}
_TITLE_ALIASES = {
    "正高级": TitleLevel.SENIOR, "正高": TitleLevel.SENIOR,
    "副高级": TitleLevel.ASSOCIATE_SENIOR, "副高": TitleLevel.ASSOCIATE_SENIOR,
    "中级": TitleLevel.INTERMEDIATE,
    "初级": TitleLevel.JUNIOR,
    "无": TitleLevel.NONE, "": TitleLevel.NONE,
}

#: The pool's bar: "副高级以上专业技术职称".
POOL_MINIMUM_TITLE = TitleLevel.ASSOCIATE_SENIOR


def parse_title_level(value: TitleLevel | int | str | None) -> TitleLevel:
    """Accept a TitleLevel, its int, its English name (``"SENIOR"``) or the Chinese label (``"正高级"``)."""
    if isinstance(value, TitleLevel):
        return value
    if value is None:
        return TitleLevel.NONE
    if isinstance(value, int):
        try:
            return TitleLevel(value)
        except ValueError:
            pass
    else:
        text = unicodedata.normalize("NFKC", value).strip()
        if text in _TITLE_ALIASES:
            return _TITLE_ALIASES[text]
        if text.upper() in TitleLevel.__members__:
            return TitleLevel[text.upper()]
    raise ValidationFailed("unknown_title_level", f"无法识别的职称级别：{value}，应为正高级、副高级、中级、初级或无",
                           [{"path": "title_level", "code": "unknown_title_level", "message": "无法识别的职称级别"}])


@dataclass(frozen=True)
class PoolEligibility:
    """Why an expert may be admitted: by title, or by an officer's recorded exception."""

    title_level: TitleLevel
    by_exception: bool
    exception_reason: str | None = None


def eligible_for_pool(title_level: TitleLevel | int | str,
                      exception_reason: str | None = None) -> PoolEligibility:
    """Admission to the key-contact pool needs 副高级 or above, unless an officer records a reason.

    Raises Conflict ``title_below_pool_minimum`` when below the bar with no reason, and
    ValidationFailed ``exception_reason_blank`` when a reason is given but blank.
    """
    level = parse_title_level(title_level)
    if exception_reason is not None and not exception_reason.strip():
        raise ValidationFailed("exception_reason_blank", "破格入库须填写具体理由",
                               [{"path": "exception_reason", "code": "exception_reason_blank",
                                 "message": "破格入库须填写具体理由"}])
    if level >= POOL_MINIMUM_TITLE:
        return PoolEligibility(level, by_exception=False)
    if exception_reason is None:
        raise Conflict("title_below_pool_minimum",
                       f"重点联系专家原则上应具有副高级以上专业技术职称，该专家职称为{level.label}；"
                       "如确需入库，请由业务处室填写破格理由",
                       {"title_level": level.label})
    return PoolEligibility(level, by_exception=True, exception_reason=exception_reason.strip())
