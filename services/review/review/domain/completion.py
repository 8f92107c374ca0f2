"""Completion tracking: how far each reviewer and each application are (pure counts).

Only active assignments count; a sheet counts when its (application, reviewer) pair is an active
assignment (a sheet left by someone who later declared a conflict does not).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .assignments import ACTIVE, Assignment
from .rubrics import ScoreSheet


@dataclass(frozen=True)
class ReviewerProgress:
    reviewer_id: str
    assigned: int
    scored: int

    @property
    def remaining(self) -> int:
        return self.assigned - self.scored

    def to_dict(self) -> dict:
        return {"reviewer_id": self.reviewer_id, "assigned": self.assigned, "scored": self.scored,
                "remaining": self.remaining}


@dataclass(frozen=True)
class ApplicationProgress:
    application_id: str
    required: int
    assigned: int
    received: int

    @property
    def complete(self) -> bool:
        return self.received >= self.required

    def to_dict(self) -> dict:
        return {"application_id": self.application_id, "required": self.required, "assigned": self.assigned,
                "received": self.received, "complete": self.complete}


def _scored_pairs(sheets: Iterable[ScoreSheet]) -> set[tuple[str, str]]:
    return {(s.application_id, s.reviewer_id) for s in sheets}


def reviewer_progress(assignments: Iterable[Assignment], sheets: Iterable[ScoreSheet]) -> dict[str, ReviewerProgress]:
    assignments = [a for a in assignments if a.status == ACTIVE]
    scored = _scored_pairs(sheets)
    out: dict[str, ReviewerProgress] = {}
    for reviewer_id in sorted({a.reviewer_id for a in assignments}):
        mine = [a for a in assignments if a.reviewer_id == reviewer_id]
        out[reviewer_id] = ReviewerProgress(reviewer_id, len(mine),
                                            sum(1 for a in mine if (a.application_id, reviewer_id) in scored))
    return out


def application_progress(application_ids: Iterable[str], required: int, assignments: Iterable[Assignment],
                         sheets: Iterable[ScoreSheet]) -> dict[str, ApplicationProgress]:
    assignments = [a for a in assignments if a.status == ACTIVE]
    scored = _scored_pairs(sheets)
    out: dict[str, ApplicationProgress] = {}
    for app_id in application_ids:
        mine = [a for a in assignments if a.application_id == app_id]
        out[app_id] = ApplicationProgress(app_id, required, len(mine),
                                          sum(1 for a in mine if (app_id, a.reviewer_id) in scored))
    return out
