"""Reviewer proposals for the review service: same fit, load and conflict rules as demand matching.

On top of the matcher's hard constraints, a reviewer never reviews an application from their own
unit nor from their own league/city, and pairs already assigned (or refused after a declared
conflict) are never proposed again. The region component of the fit is off by default (a same-region
reviewer is excluded anyway, and neighbouring vs elsewhere says nothing about a review).

For a replacement after a declared conflict: record the conflict, pass every pair the application
already has (kept and refused) as ``already_assigned``, set the application's ``wanted`` to the
number of reviewers still missing, and count each reviewer's current assignments in ``Expert.load``.

Usage:
    result = propose_reviewers(applications, reviewers, per_application=3,
                               region_relation=regions.region_relation,
                               unit_conflicts=[("r7", "u3")], already_assigned=[("r1", "a1")])
    result.matches / result.unmet / result.to_dict()   # as matching.MatchResult
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .fit import Demand, Expert, FitWeights, RegionRelation, build_fit, same_code_relation
from .matching import MatchResult, match

#: Specialty and title; region is a hard rule for reviewers, not a preference.
REVIEW_WEIGHTS = FitWeights(similarity=0.75, title=0.25, region=0.0)


@dataclass(frozen=True)
class Application:
    """An application to review: its applicant unit, league/city and the text of its field/theme."""

    id: str
    unit_id: str
    region_code: str
    text: str
    tags: tuple[str, ...] = ()
    wanted: int | None = None   # reviewers still needed; None means ``per_application``


def propose_reviewers(applications: Sequence[Application], reviewers: Sequence[Expert], *,
                      per_application: int = 3,
                      weights: FitWeights = REVIEW_WEIGHTS,
                      region_relation: RegionRelation = same_code_relation,
                      unit_conflicts: Iterable[tuple[str, str]] = (),
                      pair_conflicts: Iterable[tuple[str, str]] = (),
                      already_assigned: Iterable[tuple[str, str]] = (),
                      candidates_per_application: int | None = 40) -> MatchResult:
    """Optimal reviewer proposal; pairs are (reviewer_id, unit_id) / (reviewer_id, application_id)."""
    demands = [Demand(id=a.id, unit_id=a.unit_id, region_code=a.region_code, text=a.text, tags=a.tags,
                      wanted=per_application if a.wanted is None else a.wanted) for a in applications]
    excluded = list(pair_conflicts) + list(already_assigned)
    problem = build_fit(demands, reviewers, weights=weights, region_relation=region_relation,
                        unit_conflicts=unit_conflicts, pair_conflicts=excluded, forbid_same_region=True)
    return match(problem, candidates_per_demand=candidates_per_application)
