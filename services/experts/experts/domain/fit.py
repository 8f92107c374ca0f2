"""How well an expert fits a demand, and which expert-demand pairs are allowed at all.

fit = w.similarity * similarity + w.title * title_score + w.region * region_score, with the weights
normalised to sum to 1 and every component in [0, 1], so a fit is in [0, 1]. Defaults (FitWeights):
similarity 0.6 (the reason to send an expert is their specialty), title 0.2, region 0.2 (a nearby
expert travels less and knows local conditions). A pair is a candidate only if its similarity exceeds
``min_similarity`` (default 0: at least one shared term).

Hard constraints (a pair that breaks one is never a candidate, whatever its fit):
- an expert never serves their own unit (expert.unit_id == demand.unit_id);
- declared conflicts: (expert_id, unit_id) pairs, and (expert_id, demand_id) pairs (also used for
  pairs already assigned or refused, e.g. a reviewer replacement);
- availability: an expert's unavailable date ranges must not overlap the demand's dates;
- for review only (``forbid_same_region``): a reviewer never reviews an application of their own
  league/city.

``build_fit`` scores all pairs with sparse matrices (no Python loop over pairs) and returns a
FitProblem: the candidate pairs as flat arrays plus the per-demand counts that explain unmet demands.

Usage:
    problem = build_fit(demands, experts, weights=FitWeights(), region_relation=regions.region_relation,
                        unit_conflicts=[("e7", "u3")], pair_conflicts=[("e7", "d2")])
    problem.fit, problem.rows, problem.cols          # candidate pairs (demand index, expert index)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .identity import TitleLevel, parse_title_level
from .text import SpecialtyIndex, tag_terms, tokenize

RegionRelation = Callable[[str, str], str]
RELATIONS = ("same", "neighbour", "elsewhere")
RELATION_LABELS = {"same": "同一盟市", "neighbour": "相邻盟市", "elsewhere": "其他盟市"}


def same_code_relation(a_code: str, b_code: str) -> str:
    """The default region relation when none is injected: equal codes are the same league/city."""
    return "same" if a_code == b_code else "elsewhere"


@dataclass(frozen=True)
class Expert:
    """An expert as the matcher sees them. ``capacity`` is the load cap for the period; ``load`` what
    they already carry in it (confirmed matches), so ``capacity - load`` more can be assigned."""

    id: str
    unit_id: str
    region_code: str
    specialty: str = ""
    tags: tuple[str, ...] = ()
    title_level: TitleLevel | int | str = TitleLevel.NONE
    capacity: int = 1
    load: int = 0
    unavailable: tuple[tuple[date, date], ...] = ()


@dataclass(frozen=True)
class Demand:
    """A grassroots demand (or an application to review): wants ``wanted`` distinct experts."""

    id: str
    unit_id: str
    region_code: str
    text: str
    tags: tuple[str, ...] = ()
    wanted: int = 1
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class FitWeights:
    """Weights of the fit components (normalised to sum 1) and the scores behind two of them."""

    similarity: float = 0.6
    title: float = 0.2
    region: float = 0.2
    min_similarity: float = 0.0
    title_scores: tuple[tuple[TitleLevel, float], ...] = (
        (TitleLevel.SENIOR, 1.0), (TitleLevel.ASSOCIATE_SENIOR, 0.75), (TitleLevel.INTERMEDIATE, 0.5),
        (TitleLevel.JUNIOR, 0.25), (TitleLevel.NONE, 0.0))
    region_scores: tuple[tuple[str, float], ...] = (("same", 1.0), ("neighbour", 0.5), ("elsewhere", 0.0))

    def __post_init__(self):
        parts = (self.similarity, self.title, self.region)
        if min(parts) < 0 or sum(parts) <= 0:
            raise ValueError("fit weights must be non-negative and not all zero")
        scores = [s for _, s in self.title_scores] + [s for _, s in self.region_scores]
        if min(scores) < 0 or max(scores) > 1:
            raise ValueError("title and region scores must lie in [0, 1]")

    def normalised(self) -> tuple[float, float, float]:
        total = self.similarity + self.title + self.region
        return self.similarity / total, self.title / total, self.region / total

    def title_score(self, level: TitleLevel) -> float:
        return dict(self.title_scores).get(level, 0.0)

    def region_score(self, relation: str) -> float:
        return dict(self.region_scores).get(relation, 0.0)


@dataclass
class FitProblem:
    """Candidate pairs of one matching round, as flat arrays sorted by demand index."""

    demands: list[Demand]
    experts: list[Expert]
    weights: FitWeights
    rows: np.ndarray          # demand index of each candidate pair
    cols: np.ndarray          # expert index
    fit: np.ndarray           # in [0, 1]
    similarity: np.ndarray
    title_score: np.ndarray
    region_score: np.ndarray
    relation: np.ndarray      # index into RELATIONS
    wanted: np.ndarray        # per demand
    capacity: np.ndarray      # per expert: remaining (capacity - load, at least 0)
    n_specialty: np.ndarray   # per demand: experts sharing a term (before hard constraints)
    n_after_conflicts: np.ndarray
    n_after_availability: np.ndarray
    index: SpecialtyIndex
    demand_terms: list[list[str]]
    expert_terms: list[list[str]]
    title_levels: list[TitleLevel] = field(default_factory=list)

    @property
    def n_demands(self) -> int:
        return len(self.demands)

    @property
    def n_experts(self) -> int:
        return len(self.experts)


def _codes(values: Sequence[str], table: dict[str, int]) -> np.ndarray:
    return np.fromiter((table.setdefault(v, len(table)) for v in values), dtype=np.int64, count=len(values))


def _pair_keys(pairs: Iterable[tuple[str, str]], left: dict[str, int], right: dict[str, int],
               n_right: int) -> np.ndarray:
    keys = [left[a] * n_right + right[b] for a, b in pairs if a in left and b in right]
    return np.asarray(keys, dtype=np.int64)


def build_fit(demands: Sequence[Demand], experts: Sequence[Expert], *,
              weights: FitWeights = FitWeights(),
              region_relation: RegionRelation = same_code_relation,
              unit_conflicts: Iterable[tuple[str, str]] = (),
              pair_conflicts: Iterable[tuple[str, str]] = (),
              forbid_same_region: bool = False) -> FitProblem:
    """Score every allowed (demand, expert) pair.

    ``unit_conflicts``: (expert_id, unit_id) declared conflicts; ``pair_conflicts``: (expert_id,
    demand_id) pairs never to propose. ``region_relation(a_code, b_code)`` returns "same",
    "neighbour" or "elsewhere" (inject ``grassroots.regions.region_relation``).
    """
    demands, experts = list(demands), list(experts)
    for d in demands:
        if d.wanted < 0:
            raise ValueError(f"demand {d.id} wants a negative number of experts")
    n_d, n_e = len(demands), len(experts)
    levels = [parse_title_level(e.title_level) for e in experts]
    expert_terms = [tokenize(e.specialty) + tag_terms(e.tags) for e in experts]
    demand_terms = [tokenize(d.text) + tag_terms(d.tags) for d in demands]
    index = SpecialtyIndex(expert_terms)
    sim = index.similarity(demand_terms).tocoo()
    keep = sim.data > weights.min_similarity
    rows = sim.row[keep].astype(np.int64)
    cols = sim.col[keep].astype(np.int64)
    sims = sim.data[keep].astype(np.float64)
    order = np.lexsort((cols, rows))
    rows, cols, sims = rows[order], cols[order], sims[order]
    n_specialty = np.bincount(rows, minlength=n_d)

    # Hard constraints: conflicts.
    units: dict[str, int] = {}
    d_unit = _codes([d.unit_id for d in demands], units)
    e_unit = _codes([e.unit_id for e in experts], units)
    ok = d_unit[rows] != e_unit[cols]
    regions: dict[str, int] = {}
    d_region = _codes([d.region_code for d in demands], regions)
    e_region = _codes([e.region_code for e in experts], regions)
    if forbid_same_region:
        ok &= d_region[rows] != e_region[cols]
    expert_ix = {e.id: i for i, e in enumerate(experts)}
    demand_ix = {d.id: i for i, d in enumerate(demands)}
    n_units = max(len(units), 1)
    unit_keys = _pair_keys(unit_conflicts, expert_ix, {u: c for u, c in units.items()}, n_units)
    if len(unit_keys):
        ok &= ~np.isin(cols * n_units + d_unit[rows], unit_keys)
    pair_keys = _pair_keys(((d, e) for e, d in pair_conflicts), demand_ix, expert_ix, max(n_e, 1))
    if len(pair_keys):
        ok &= ~np.isin(rows * max(n_e, 1) + cols, pair_keys)
    rows, cols, sims = rows[ok], cols[ok], sims[ok]
    n_after_conflicts = np.bincount(rows, minlength=n_d)

    # Hard constraints: availability. Ranges padded to (experts x R) so the overlap test is vectorised.
    max_ranges = max((len(e.unavailable) for e in experts), default=0)
    if max_ranges and len(rows):
        far_past, far_future = date.min.toordinal(), date.max.toordinal()
        u_start = np.full((n_e, max_ranges), far_future, dtype=np.int64)  # empty slot: never overlaps
        u_end = np.full((n_e, max_ranges), far_past, dtype=np.int64)
        for i, e in enumerate(experts):
            for r, (s, t) in enumerate(e.unavailable):
                u_start[i, r], u_end[i, r] = s.toordinal(), t.toordinal()
        d_start = np.array([d.start.toordinal() if d.start else far_future for d in demands], dtype=np.int64)
        d_end = np.array([(d.end or d.start).toordinal() if d.start else far_past for d in demands],
                         dtype=np.int64)
        clash = ((u_start[cols] <= d_end[rows, None]) & (u_end[cols] >= d_start[rows, None])).any(axis=1)
        rows, cols, sims = rows[~clash], cols[~clash], sims[~clash]
    n_after_availability = np.bincount(rows, minlength=n_d)

    # Components.
    code_list = sorted(regions, key=regions.get)
    relation_of = {name: k for k, name in enumerate(RELATIONS)}
    rel_matrix = np.empty((len(code_list), len(code_list)), dtype=np.int64)
    used = set(zip(d_region[rows].tolist(), e_region[cols].tolist())) if len(rows) else set()
    for a, b in used:
        rel = region_relation(code_list[a], code_list[b])
        if rel not in relation_of:
            raise ValueError(f"region_relation returned {rel!r}, expected one of {RELATIONS}")
        rel_matrix[a, b] = relation_of[rel]
    relation = rel_matrix[d_region[rows], e_region[cols]] if len(rows) else np.zeros(0, dtype=np.int64)
    region_lookup = np.array([weights.region_score(r) for r in RELATIONS])
    title_vec = np.array([weights.title_score(lv) for lv in levels], dtype=np.float64)
    w_sim, w_title, w_region = weights.normalised()
    title_score = title_vec[cols] if n_e else np.zeros(0)
    region_score = region_lookup[relation]
    fit = w_sim * sims + w_title * title_score + w_region * region_score

    capacity = np.array([max(0, e.capacity - e.load) for e in experts], dtype=np.int64)
    wanted = np.array([d.wanted for d in demands], dtype=np.int64)
    return FitProblem(demands=demands, experts=experts, weights=weights, rows=rows, cols=cols, fit=fit,
                      similarity=sims, title_score=title_score, region_score=region_score,
                      relation=relation, wanted=wanted, capacity=capacity, n_specialty=n_specialty,
                      n_after_conflicts=n_after_conflicts, n_after_availability=n_after_availability,
                      index=index, demand_terms=demand_terms, expert_terms=expert_terms,
                      title_levels=levels)
