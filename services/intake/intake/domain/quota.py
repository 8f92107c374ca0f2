"""How many applications a unit may submit to a programme (名额), as given by the call file.

Only ``max`` limits submissions; ``min`` (e.g. 2023's "不少于10名") is what the department expects and is
shown in usage views, never enforced. Applications that count are those submitted or received
(``lifecycle.COUNTING_STATUSES``); the database-side guard against races uses these numbers.

Usage:
    quota_for(prog, "league_city")                       # Range(min=None, max=2)
    check_quota(prog, "league_city", counting=1)         # passes: one more may be submitted
    check_quota(prog, "league_city", counting=2)         # raises Conflict("quota_exceeded")
    quota_usage(prog, "league_city", counting=1)         # {"min": None, "max": 2, "used": 1, "remaining": 1, ...}
"""
from __future__ import annotations

from grassroots.errors import Conflict, Forbidden

from .model import UNIT_KINDS, Programme, Range


def check_eligible(programme: Programme, unit_kind: str) -> None:
    """Raise Forbidden ``unit_kind_not_eligible`` if units of this kind may not apply to the programme."""
    if not programme.may_apply(unit_kind):
        allowed = "、".join(UNIT_KINDS[k] for k in programme.eligible_unit_kinds)
        raise Forbidden("unit_kind_not_eligible",
                        f"{UNIT_KINDS.get(unit_kind, unit_kind)}不在{programme.name}的申报范围内（可申报：{allowed}）",
                        {"programme": programme.code, "unit_kind": unit_kind})


def quota_for(programme: Programme, unit_kind: str) -> Range:
    """The quota of one unit of ``unit_kind`` in ``programme`` (raises if the kind may not apply)."""
    check_eligible(programme, unit_kind)
    return programme.quota_for(unit_kind)


def remaining(programme: Programme, unit_kind: str, counting: int) -> int | None:
    """How many more the unit may submit; None when unlimited."""
    q = quota_for(programme, unit_kind)
    return None if q.max is None else max(q.max - counting, 0)


def check_quota(programme: Programme, unit_kind: str, counting: int) -> None:
    """Raise Conflict ``quota_exceeded`` unless one more application may be submitted.

    ``counting`` is the number of the unit's applications to this programme already submitted or received.
    """
    q = quota_for(programme, unit_kind)
    if q.max is not None and counting >= q.max:
        raise Conflict(
            "quota_exceeded",
            f"{programme.name}每个{UNIT_KINDS[unit_kind]}限报{q.max}个，本单位已报{counting}个，不能再提交",
            {"programme": programme.code, "unit_kind": unit_kind, "max": q.max, "used": counting})


def quota_usage(programme: Programme, unit_kind: str, counting: int) -> dict:
    """A JSON-able row for per-unit usage views."""
    q = quota_for(programme, unit_kind)
    return {"programme": programme.code, "programme_name": programme.name, "unit_kind": unit_kind,
            "min": q.min, "max": q.max, "quota_label": q.describe(), "used": counting,
            "remaining": remaining(programme, unit_kind, counting),
            "below_minimum": q.min is not None and counting < q.min}
