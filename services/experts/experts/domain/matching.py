"""Optimal matching of experts to demands, with explanations and the reasons demands stay unmet.

The objective is lexicographic: first serve as many demand slots as possible, then maximise the
total fit of the matches. (An officer would rather send a fair expert than none; among equally
full plans, the better-fitting one wins.) Constraints: at most ``wanted`` experts per demand, at
most ``capacity - load`` demands per expert, an expert at most once per demand, and only the
candidate pairs ``build_fit`` allowed (conflicts and availability are already cut there).

How it is solved (``solve_optimal``): the problem is a bipartite b-matching, i.e. a min-cost flow
source -> demand (cap wanted) -> expert (cap 1) -> sink (cap capacity). Its LP has a totally unimodular
constraint matrix, so a basic optimal solution (HiGHS dual simplex via ``scipy.optimize.linprog``) is
integral. Every pair's weight is ``M + fit`` with ``M = 1 + min(total slots, total capacity)``: one
more match is worth more than any possible fit total, which gives the lexicographic order.

Pruning without losing optimality: the LP starts on each demand's ``candidates_per_demand`` best
pairs (by fit) and is then *certified* on all pairs: with the LP duals (y_d, y_e) a left-out pair
whose reduced cost ``-(M + fit) - y_d - y_e`` is negative could improve the plan, so such pairs are
added and the LP re-solved (column generation) until none is left. The result is optimal on the
whole candidate graph, not just on the pruned one; pruning only makes it fast. ``candidates_per_demand
=None`` solves on all pairs at once (the small-case tests compare that against brute force).

Usage:
    problem = build_fit(demands, experts, region_relation=regions.region_relation)
    result = match(problem)                  # or match_experts(demands, experts, ...)
    result.matches[0].explanation["matched_terms"]; result.unmet[0].reason
    result.to_dict()                         # JSON-able, for the RPC answer
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog, milp, LinearConstraint, Bounds

from .fit import RELATION_LABELS, RELATIONS, FitProblem, build_fit

#: Reduced costs above this are treated as non-negative (HiGHS works to about 1e-7).
_RC_TOLERANCE = 1e-7

UNMET_MESSAGES = {
    "no_specialty_match": "没有专业领域相符的专家",
    "all_candidates_conflicted": "专业相符的专家均需回避（本单位专家、已申报的利益冲突或已分配）",
    "all_candidates_unavailable": "专业相符且无需回避的专家在需求时段均无法到岗",
    "too_few_candidates": "专业相符且可派的专家人数少于所需人数，已全部匹配",
    "candidates_at_load_cap": "专业相符且可派的专家已达到任务上限（已匹配到其他需求）",
}


@dataclass
class Solution:
    """Chosen candidate pairs (indices into the FitProblem's arrays) and how the solve went."""

    chosen: np.ndarray
    method: str
    lp_rounds: int = 0
    lp_pairs: int = 0


@dataclass(frozen=True)
class Match:
    demand_id: str
    expert_id: str
    fit: float
    explanation: dict[str, Any]


@dataclass(frozen=True)
class Unmet:
    demand_id: str
    wanted: int
    filled: int
    reason: str
    message: str
    counts: dict[str, int]


@dataclass
class MatchResult:
    matches: list[Match]
    unmet: list[Unmet]
    total_fit: float
    slots_wanted: int
    slots_filled: int
    method: str
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matches": [{"demand_id": m.demand_id, "expert_id": m.expert_id, "fit": m.fit,
                         "explanation": m.explanation} for m in self.matches],
            "unmet": [{"demand_id": u.demand_id, "wanted": u.wanted, "filled": u.filled, "reason": u.reason,
                       "message": u.message, "counts": u.counts} for u in self.unmet],
            "total_fit": self.total_fit, "slots_wanted": self.slots_wanted,
            "slots_filled": self.slots_filled, "method": self.method, "stats": self.stats,
        }


def _top_k_per_demand(problem: FitProblem, usable: np.ndarray, k: int) -> np.ndarray:
    """Indices of each demand's k best usable pairs (rows are sorted, so each demand is a slice)."""
    idx = np.flatnonzero(usable)
    if len(idx) == 0:
        return idx
    rows = problem.rows[idx]
    # Sort by (demand, -fit) and keep the first k of each demand's run.
    order = np.lexsort((-problem.fit[idx], rows))
    idx, rows = idx[order], rows[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    rank = np.arange(len(rows)) - run_start
    return np.sort(idx[rank < k])


def _solve_lp(problem: FitProblem, pairs: np.ndarray, big_m: float):
    """LP over the given pairs; returns (x, demand duals, expert duals) with duals for all nodes."""
    n = len(pairs)
    rows, cols = problem.rows[pairs], problem.cols[pairs]
    experts_used, e_local = np.unique(cols, return_inverse=True)
    demands_used, d_local = np.unique(rows, return_inverse=True)
    n_du, n_eu = len(demands_used), len(experts_used)
    a = sp.csr_matrix((np.ones(2 * n), (np.r_[d_local, n_du + e_local], np.r_[np.arange(n), np.arange(n)])),
                      shape=(n_du + n_eu, n))
    b = np.r_[problem.wanted[demands_used], problem.capacity[experts_used]].astype(np.float64)
    c = -(big_m + problem.fit[pairs])
    res = linprog(c, A_ub=a, b_ub=b, bounds=(0, 1), method="highs-ds")
    if res.status != 0:  # pragma: no cover - the LP is always feasible (x = 0) and bounded
        raise RuntimeError(f"matching LP failed: {res.message}")
    y_d = np.zeros(problem.n_demands)
    y_e = np.zeros(problem.n_experts)
    marg = res.ineqlin.marginals
    y_d[demands_used] = marg[:n_du]
    y_e[experts_used] = marg[n_du:]
    return res.x, y_d, y_e, a, b, c


def _integral(problem: FitProblem, pairs: np.ndarray, x: np.ndarray, a, b, c) -> np.ndarray:
    """The chosen pairs. A basic solution of this LP is integral; if numerics say otherwise, fall
    back to the MILP (same optimum, slower) rather than round blindly."""
    if np.all(np.minimum(np.abs(x), np.abs(1 - x)) < 1e-6):
        return pairs[x > 0.5]
    res = milp(c, constraints=LinearConstraint(a, -np.inf, b), integrality=np.ones(len(pairs)),
               bounds=Bounds(0, 1))  # pragma: no cover - defensive
    return pairs[res.x > 0.5]  # pragma: no cover


def solve_optimal(problem: FitProblem, *, candidates_per_demand: int | None = 40,
                  max_rounds: int = 50) -> Solution:
    """Lexicographically optimal plan (most slots, then most fit) over all candidate pairs."""
    usable = (problem.capacity[problem.cols] > 0) & (problem.wanted[problem.rows] > 0)
    all_usable = np.flatnonzero(usable)
    if len(all_usable) == 0:
        return Solution(chosen=all_usable, method="lp")
    big_m = 1.0 + float(min(problem.wanted.sum(), problem.capacity.sum()))
    if candidates_per_demand is None:
        pairs = all_usable
    else:
        pairs = _top_k_per_demand(problem, usable, max(candidates_per_demand, 1))
    in_lp = np.zeros(len(problem.rows), dtype=bool)
    in_lp[pairs] = True
    for rounds in range(1, max_rounds + 1):
        x, y_d, y_e, a, b, c = _solve_lp(problem, pairs, big_m)
        outside = all_usable[~in_lp[all_usable]]
        if len(outside) == 0:
            break
        reduced = -(big_m + problem.fit[outside]) - y_d[problem.rows[outside]] - y_e[problem.cols[outside]]
        improving = outside[reduced < -_RC_TOLERANCE]
        if len(improving) == 0:
            break
        in_lp[improving] = True
        pairs = np.flatnonzero(in_lp)
    else:  # pragma: no cover - column generation converges long before this
        raise RuntimeError("matching column generation did not converge")
    chosen = _integral(problem, pairs, x, a, b, c)
    return Solution(chosen=np.sort(chosen), method="lp", lp_rounds=rounds, lp_pairs=len(pairs))


def solve_greedy(problem: FitProblem) -> Solution:
    """Baseline for the benchmark: take pairs by descending fit while both sides have room."""
    order = np.argsort(-problem.fit, kind="stable")
    room_d = problem.wanted.copy()
    room_e = problem.capacity.copy()
    chosen = []
    rows, cols = problem.rows.tolist(), problem.cols.tolist()
    for i in order.tolist():
        d, e = rows[i], cols[i]
        if room_d[d] > 0 and room_e[e] > 0:
            room_d[d] -= 1
            room_e[e] -= 1
            chosen.append(i)
    return Solution(chosen=np.sort(np.asarray(chosen, dtype=np.int64)), method="greedy")


def _unmet_reason(problem: FitProblem, d: int, filled: int) -> str:
    if problem.n_specialty[d] == 0:
        return "no_specialty_match"
    if problem.n_after_conflicts[d] == 0:
        return "all_candidates_conflicted"
    if problem.n_after_availability[d] == 0:
        return "all_candidates_unavailable"
    if problem.n_after_availability[d] <= filled:
        return "too_few_candidates"
    return "candidates_at_load_cap"


def explain(problem: FitProblem, solution: Solution) -> MatchResult:
    """Matches with their explanations, and each demand left short with its reason."""
    chosen = solution.chosen
    load_after = np.array([e.load for e in problem.experts], dtype=np.int64)
    np.add.at(load_after, problem.cols[chosen], 1)
    w_sim, w_title, w_region = problem.weights.normalised()
    matches = []
    for i in chosen.tolist():
        d, e = int(problem.rows[i]), int(problem.cols[i])
        demand, expert = problem.demands[d], problem.experts[e]
        terms = problem.index.matched_terms(problem.demand_terms[d], problem.expert_terms[e])
        relation = RELATIONS[int(problem.relation[i])]
        level = problem.title_levels[e]
        explanation = {
            "matched_terms": terms,
            "similarity": round(float(problem.similarity[i]), 6),
            "region_relation": relation,
            "title_level": level.label,
            "load_after": int(load_after[e]),
            "capacity": int(expert.capacity),
            "breakdown": {
                "similarity": round(w_sim * float(problem.similarity[i]), 6),
                "title": round(w_title * float(problem.title_score[i]), 6),
                "region": round(w_region * float(problem.region_score[i]), 6),
            },
            "summary": (f"专业相符：{'、'.join(terms[:5]) or '无'}；{RELATION_LABELS[relation]}；"
                        f"职称{level.label}；匹配后承担{int(load_after[e])}/{expert.capacity}项任务"),
        }
        matches.append(Match(demand.id, expert.id, round(float(problem.fit[i]), 6), explanation))
    filled = np.bincount(problem.rows[chosen], minlength=problem.n_demands)
    unmet = []
    for d in np.flatnonzero(filled < problem.wanted).tolist():
        reason = _unmet_reason(problem, d, int(filled[d]))
        counts = {"with_specialty": int(problem.n_specialty[d]),
                  "without_conflict": int(problem.n_after_conflicts[d]),
                  "available": int(problem.n_after_availability[d])}
        unmet.append(Unmet(problem.demands[d].id, int(problem.wanted[d]), int(filled[d]), reason,
                           UNMET_MESSAGES[reason], counts))
    return MatchResult(matches=matches, unmet=unmet, total_fit=float(problem.fit[chosen].sum()),
                       slots_wanted=int(problem.wanted.sum()), slots_filled=int(len(chosen)),
                       method=solution.method,
                       stats={"lp_rounds": solution.lp_rounds, "lp_pairs": solution.lp_pairs,
                              "candidate_pairs": int(len(problem.rows))})


def match(problem: FitProblem, *, candidates_per_demand: int | None = 40) -> MatchResult:
    return explain(problem, solve_optimal(problem, candidates_per_demand=candidates_per_demand))


def match_experts(demands, experts, *, candidates_per_demand: int | None = 40, **fit_options) -> MatchResult:
    """``build_fit`` then ``match``; ``fit_options`` are build_fit's keyword arguments."""
    return match(build_fit(demands, experts, **fit_options), candidates_per_demand=candidates_per_demand)
