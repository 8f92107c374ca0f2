"""The key-contact expert pool (专家服务基层重点联系专家库): its lifecycle and recommendation quotas.

States: recommended (a unit recommended the expert) -> admitted (the department admitted them) ->
recommended_national (recommended to the ministry's national pool); recommended or admitted ->
rejected. Only a programme officer (专业技术人员管理处) moves an expert through the pool.

Usage:
    status = transition(PoolStatus.RECOMMENDED, PoolAction.ADMIT, role="programme_officer")
    status, why = admit(PoolStatus.RECOMMENDED, role="programme_officer", title_level="中级",
                        exception_reason="...")     # the title bar, see identity.eligible_for_pool
    quota = RecommendationQuota(maximum=10)         # 2025: 10 per league/city
    quota.check_can_add(region_code="150100", current=9, adding=1)
    RecommendationQuota(minimum=10).check_complete(region_code="150100", count=8)  # 2023: 不少于10
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from grassroots.errors import Conflict, Forbidden, ValidationFailed

from .identity import PoolEligibility, TitleLevel, eligible_for_pool


class PoolStatus(str, enum.Enum):
    RECOMMENDED = "recommended"
    ADMITTED = "admitted"
    RECOMMENDED_NATIONAL = "recommended_national"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    PoolStatus.RECOMMENDED: "已推荐",
    PoolStatus.ADMITTED: "已入库",
    PoolStatus.RECOMMENDED_NATIONAL: "已推荐至国家库",
    PoolStatus.REJECTED: "未入库",
}


class PoolAction(str, enum.Enum):
    ADMIT = "admit"
    RECOMMEND_NATIONAL = "recommend_national"
    REJECT = "reject"


#: (from, action) -> to. Anything not listed is an invalid transition.
TRANSITIONS: dict[tuple[PoolStatus, PoolAction], PoolStatus] = {
    (PoolStatus.RECOMMENDED, PoolAction.ADMIT): PoolStatus.ADMITTED,
    (PoolStatus.RECOMMENDED, PoolAction.REJECT): PoolStatus.REJECTED,
    (PoolStatus.ADMITTED, PoolAction.RECOMMEND_NATIONAL): PoolStatus.RECOMMENDED_NATIONAL,
    (PoolStatus.ADMITTED, PoolAction.REJECT): PoolStatus.REJECTED,
}

#: Roles allowed to take each action.
ALLOWED_ROLES: dict[PoolAction, frozenset[str]] = {
    action: frozenset({"programme_officer"}) for action in PoolAction
}


def _status(value: PoolStatus | str) -> PoolStatus:
    try:
        return PoolStatus(value)
    except ValueError:
        raise ValidationFailed("unknown_pool_status", f"未知的入库状态：{value}") from None


def _action(value: PoolAction | str) -> PoolAction:
    try:
        return PoolAction(value)
    except ValueError:
        raise ValidationFailed("unknown_pool_action", f"未知的操作：{value}") from None


def transition(current: PoolStatus | str, action: PoolAction | str, *, role: str) -> PoolStatus:
    """The next status, or Forbidden ``role_not_allowed`` / Conflict ``invalid_transition``.

    For ADMIT use ``admit`` instead: it also applies the title bar.
    """
    current, action = _status(current), _action(action)
    if role not in ALLOWED_ROLES[action]:
        raise Forbidden("role_not_allowed", "只有专业技术人员管理处的业务人员可以办理专家入库事项",
                        {"action": action.value, "role": role})
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise Conflict("invalid_transition", f"专家当前状态为“{current.label}”，不能执行该操作",
                       {"from": current.value, "action": action.value})
    return target


def admit(current: PoolStatus | str, *, role: str, title_level: TitleLevel | int | str,
          exception_reason: str | None = None) -> tuple[PoolStatus, PoolEligibility]:
    """Admit a recommended expert: the role and transition checks, then the title bar."""
    target = transition(current, PoolAction.ADMIT, role=role)
    return target, eligible_for_pool(title_level, exception_reason)


@dataclass(frozen=True)
class RecommendationQuota:
    """How many experts one league/city (or unit) recommends in a call; either bound may be absent.

    2025: ``maximum=10``; 2023 "不少于10": ``minimum=10``. The numbers come from the call's programme.
    """

    minimum: int | None = None
    maximum: int | None = None

    def __post_init__(self):
        for name in ("minimum", "maximum"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"quota {name} must be a non-negative int or None, got {value!r}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("quota minimum exceeds maximum")

    def check_can_add(self, *, region_code: str, current: int, adding: int = 1) -> None:
        """Conflict ``recommendation_quota_exceeded`` if ``current + adding`` passes the maximum."""
        if self.maximum is not None and current + adding > self.maximum:
            raise Conflict("recommendation_quota_exceeded",
                           f"该盟市本年度推荐的重点联系专家不得超过{self.maximum}名，"
                           f"已推荐{current}名，本次新增{adding}名",
                           {"region_code": region_code, "maximum": self.maximum,
                            "current": current, "adding": adding})

    def shortfall(self, count: int) -> int:
        return 0 if self.minimum is None else max(0, self.minimum - count)

    def check_complete(self, *, region_code: str, count: int) -> None:
        """ValidationFailed ``recommendation_quota_not_met`` if fewer than the minimum were recommended."""
        if self.shortfall(count):
            raise ValidationFailed("recommendation_quota_not_met",
                                   f"该盟市推荐的重点联系专家不少于{self.minimum}名，当前仅{count}名",
                                   {"region_code": region_code, "minimum": self.minimum, "count": count})
