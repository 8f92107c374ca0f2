"""Ranking: how an application's number is computed, and the order.

Per application:

1. Each score sheet's weighted total on 0-100 (``rubrics.weighted_total``, 4 decimal places).
2. Outliers: with 5 or more sheets the single highest and the single lowest total are dropped (a trimmed
   mean: one reviewer who is far too strict or too kind cannot move the result); with fewer sheets
   every sheet counts (dropping from 3 or 4 would leave too few to average). Ties for highest/lowest drop
   the sheet of the smallest reviewer id, so the choice is deterministic.
3. Base score = mean of the kept totals, rounded half up to 2 places.
4. Bonus = priority-region points (``priority.priority_bonus``), once, the maximum category, capped.
5. Final = base + bonus (2 places). It may exceed 100 by at most the bonus cap.

Only sheets of active assignments count (``sheets_for_ranking``): a sheet of a reviewer who later declared
a conflict is not used.

Missing sheets: an application with fewer sheets than required (k of the round) is marked incomplete and
ranked after every complete one, whatever its score, because its mean rests on fewer opinions than the
others'. Among incomplete applications the same order applies; one without any sheet has no score and
comes last.

Order (deterministic, all comparisons on the rounded figures shown): complete before incomplete, then
higher final score, higher base score (without bonus), more sheets received, lower dispersion (population
standard deviation of the kept totals), earlier submission time, smaller application id.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Sequence

from ._common import q2
from .assignments import Assignment, active_pairs
from .facts import ServicePlace
from .priority import Bonus, BonusPolicy, PriorityList, priority_bonus
from .rubrics import Rubric, ScoreSheet, weighted_total

TRIM_FROM = 5
METHOD_TRIMMED = "trimmed_mean"
METHOD_MEAN = "mean"
METHOD_NONE = "no_sheets"
_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class RankingEntry:
    application_id: str
    sheets: Sequence[ScoreSheet]
    submitted_at: dt.datetime | None = None
    service_places: tuple[ServicePlace, ...] = ()


@dataclass(frozen=True)
class SheetLine:
    reviewer_id: str
    weighted_total: Decimal
    dropped: str | None = None  # "highest" | "lowest" | None

    def to_dict(self) -> dict:
        return {"reviewer_id": self.reviewer_id, "weighted_total": str(self.weighted_total),
                "used": self.dropped is None, "dropped": self.dropped}


@dataclass(frozen=True)
class RankedApplication:
    rank: int
    application_id: str
    complete: bool
    required_sheets: int
    received_sheets: int
    method: str
    sheets: tuple[SheetLine, ...]
    mean: Decimal | None
    base_score: Decimal | None
    bonus: Bonus
    final_score: Decimal | None
    dispersion: Decimal | None
    submitted_at: dt.datetime | None

    def explain(self) -> dict:
        """How the number was computed, for officers (JSON-able)."""
        used = [s for s in self.sheets if s.dropped is None]
        method_text = {
            METHOD_TRIMMED: f"共{self.received_sheets}份评分表，去掉一个最高分和一个最低分后取平均",
            METHOD_MEAN: f"共{self.received_sheets}份评分表，不足{TRIM_FROM}份，全部取平均",
            METHOD_NONE: "尚无评分表",
        }[self.method]
        if not self.complete:
            method_text += f"；应有{self.required_sheets}份，评分不完整，排在评分完整的项目之后"
        return {
            "rank": self.rank, "application_id": self.application_id, "complete": self.complete,
            "required_sheets": self.required_sheets, "received_sheets": self.received_sheets,
            "method": self.method, "method_text": method_text,
            "sheets": [s.to_dict() for s in self.sheets],
            "sheets_used": len(used), "sheets_dropped": len(self.sheets) - len(used),
            "mean": None if self.mean is None else str(self.mean),
            "base_score": None if self.base_score is None else str(self.base_score),
            "bonus": self.bonus.to_dict(),
            "final_score": None if self.final_score is None else str(self.final_score),
            "dispersion": None if self.dispersion is None else str(self.dispersion),
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
        }


def sheets_for_ranking(assignments: Iterable[Assignment], sheets: Iterable[ScoreSheet]) -> list[ScoreSheet]:
    """The sheets whose assignment is still active (conflicts and cancellations drop their sheets)."""
    pairs = active_pairs(assignments)
    return [s for s in sheets if (s.application_id, s.reviewer_id) in pairs]


def _trim(lines: list[SheetLine]) -> list[SheetLine]:
    if len(lines) < TRIM_FROM:
        return lines
    # deterministic: among equal totals, the smallest reviewer id is the one dropped
    highest = min(lines, key=lambda s: (-s.weighted_total, s.reviewer_id))
    rest = [s for s in lines if s is not highest]
    lowest = min(rest, key=lambda s: (s.weighted_total, s.reviewer_id))
    return [SheetLine(s.reviewer_id, s.weighted_total,
                      "highest" if s is highest else "lowest" if s is lowest else None) for s in lines]


def _score(rubric: Rubric, entry: RankingEntry, required: int, priority: PriorityList, policy: BonusPolicy
           ) -> RankedApplication:
    lines = sorted((SheetLine(s.reviewer_id, weighted_total(rubric, s.scores)) for s in entry.sheets),
                   key=lambda s: s.reviewer_id)
    lines = _trim(lines)
    used = [s.weighted_total for s in lines if s.dropped is None]
    bonus = priority_bonus(entry.service_places, priority, policy)
    if used:
        mean = sum(used, Decimal(0)) / len(used)
        variance = sum(((t - mean) ** 2 for t in used), Decimal(0)) / len(used)
        base = q2(mean)
        final = q2(base + bonus.points)
        dispersion = q2(variance.sqrt())
        method = METHOD_TRIMMED if len(lines) >= TRIM_FROM else METHOD_MEAN
    else:
        mean = base = final = dispersion = None
        method = METHOD_NONE
    return RankedApplication(rank=0, application_id=entry.application_id, complete=len(lines) >= required,
                             required_sheets=required, received_sheets=len(lines), method=method,
                             sheets=tuple(lines), mean=None if mean is None else q2(mean), base_score=base,
                             bonus=bonus, final_score=final, dispersion=dispersion, submitted_at=entry.submitted_at)


def _order_key(r: RankedApplication):
    missing = r.final_score is None
    return (
        not r.complete,
        missing,
        -(r.final_score or 0),
        -(r.base_score or 0),
        -r.received_sheets,
        r.dispersion if r.dispersion is not None else Decimal(0),
        r.submitted_at or _FAR_FUTURE,
        r.application_id,
    )


def rank_applications(rubric: Rubric, entries: Iterable[RankingEntry], required_sheets: int,
                      priority: PriorityList, policy: BonusPolicy | None = None) -> list[RankedApplication]:
    """Score and order applications; ranks are 1..n with no shared places (see module doc for the order)."""
    policy = policy or BonusPolicy()
    scored = sorted((_score(rubric, e, required_sheets, priority, policy) for e in entries), key=_order_key)
    return [replace(r, rank=i) for i, r in enumerate(scored, start=1)]
