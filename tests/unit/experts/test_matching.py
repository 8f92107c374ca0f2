import random
from datetime import date, timedelta

import networkx as nx
import numpy as np
import pytest

from experts.domain.fit import Demand, Expert, FitProblem, FitWeights, build_fit
from experts.domain.matching import explain, match, match_experts, solve_greedy, solve_optimal
from experts.domain.text import SpecialtyIndex

WORDS = ["畜牧兽医", "草原生态", "稀土", "水利", "林业", "医疗卫生", "马铃薯", "光伏"]
REGIONS = ["150100", "150200", "150300"]


def random_instance(rng: random.Random, n_demands: int, n_experts: int, *, max_wanted=3, max_cap=3,
                    words=WORDS, units=4, away=0.3, conflicts=1.0):
    base = date(2025, 6, 1)
    experts = []
    for i in range(n_experts):
        unavailable = ()
        if rng.random() < away:
            s = base + timedelta(days=rng.randrange(20))
            unavailable = ((s, s + timedelta(days=rng.randrange(1, 6))),)
        experts.append(Expert(id=f"e{i}", unit_id=f"u{rng.randrange(units)}", region_code=rng.choice(REGIONS),
                              specialty=" ".join(rng.sample(words, rng.randint(1, 3))),
                              title_level=rng.randint(0, 4), capacity=rng.randint(1, max_cap),
                              load=rng.choice((0, 0, 1)), unavailable=unavailable))
    demands = []
    for i in range(n_demands):
        dated = rng.random() < 0.7
        s = base + timedelta(days=rng.randrange(20))
        demands.append(Demand(id=f"d{i}", unit_id=f"u{rng.randrange(units)}", region_code=rng.choice(REGIONS),
                              text=" ".join(rng.sample(words, rng.randint(1, 2))),
                              wanted=rng.randint(1, max_wanted), start=s if dated else None,
                              end=s + timedelta(days=rng.randrange(3)) if dated else None))
    unit_conflicts = [(f"e{rng.randrange(n_experts)}", f"u{rng.randrange(units)}")
                      for _ in range(int(conflicts * n_experts / 4))]
    pair_conflicts = [(f"e{rng.randrange(n_experts)}", f"d{rng.randrange(n_demands)}")
                      for _ in range(int(conflicts * n_demands))]
    return demands, experts, unit_conflicts, pair_conflicts


def lexicographic_value(problem, chosen):
    return len(chosen), float(problem.fit[chosen].sum())


def brute_force(problem: FitProblem):
    """Best (slots, fit) over every feasible subset of candidate pairs, by exhaustive search."""
    n = len(problem.rows)
    room_d = problem.wanted.copy()
    room_e = problem.capacity.copy()
    best = [(0, 0.0)]

    def search(i, count, fit):
        if i == n:
            if (count, round(fit, 9)) > (best[0][0], round(best[0][1], 9)):
                best[0] = (count, fit)
            return
        d, e = problem.rows[i], problem.cols[i]
        if room_d[d] > 0 and room_e[e] > 0:
            room_d[d] -= 1
            room_e[e] -= 1
            search(i + 1, count + 1, fit + problem.fit[i])
            room_d[d] += 1
            room_e[e] += 1
        search(i + 1, count, fit)

    search(0, 0, 0.0)
    return best[0]


def synthetic_problem(pairs, wanted, capacity):
    """A FitProblem from explicit (demand, expert, fit) triples, for hand-made cases."""
    rows = np.array([p[0] for p in pairs], dtype=np.int64)
    cols = np.array([p[1] for p in pairs], dtype=np.int64)
    fit = np.array([p[2] for p in pairs], dtype=np.float64)
    demands = [Demand(id=f"d{i}", unit_id="u", region_code="r", text="", wanted=w) for i, w in enumerate(wanted)]
    experts = [Expert(id=f"e{i}", unit_id="v", region_code="r", capacity=c) for i, c in enumerate(capacity)]
    zeros = np.zeros(len(pairs))
    n_d = len(wanted)
    counts = np.bincount(rows, minlength=n_d)
    return FitProblem(demands=demands, experts=experts, weights=FitWeights(), rows=rows, cols=cols, fit=fit,
                      similarity=fit, title_score=zeros, region_score=zeros,
                      relation=np.zeros(len(pairs), dtype=np.int64), wanted=np.array(wanted),
                      capacity=np.array(capacity), n_specialty=counts, n_after_conflicts=counts,
                      n_after_availability=counts, index=SpecialtyIndex([[] for _ in capacity]),
                      demand_terms=[[] for _ in wanted], expert_terms=[[] for _ in capacity],
                      title_levels=[0] * len(capacity))


def assert_respects_every_rule(demands, experts, unit_conflicts, pair_conflicts, result):
    by_d = {d.id: d for d in demands}
    by_e = {e.id: e for e in experts}
    seen = set()
    per_demand, per_expert = {}, {}
    for m in result.matches:
        d, e = by_d[m.demand_id], by_e[m.expert_id]
        assert (m.demand_id, m.expert_id) not in seen, "an expert twice on one demand"
        seen.add((m.demand_id, m.expert_id))
        assert e.unit_id != d.unit_id, "an expert serving their own unit"
        assert (e.id, d.unit_id) not in set(unit_conflicts), "a declared unit conflict"
        assert (e.id, d.id) not in set(pair_conflicts), "a declared demand conflict"
        if d.start:
            for s, t in e.unavailable:
                assert t < d.start or s > (d.end or d.start), "an unavailable expert"
        per_demand[d.id] = per_demand.get(d.id, 0) + 1
        per_expert[e.id] = per_expert.get(e.id, 0) + 1
    for d_id, n in per_demand.items():
        assert n <= by_d[d_id].wanted, "more experts than the demand wants"
    for e_id, n in per_expert.items():
        assert by_e[e_id].load + n <= by_e[e_id].capacity, "an expert over their load cap"


def dense_small_instance(seed):
    """4 demands x 5 experts with most pairs allowed and capacity short of demand: contention."""
    rng = random.Random(seed)
    demands, experts, uc, pc = random_instance(rng, 4, 5, max_wanted=3, max_cap=2, words=WORDS[:3],
                                               units=10, away=0.1, conflicts=0.3)
    return build_fit(demands, experts, unit_conflicts=uc, pair_conflicts=pc)


def random_fit_problem(seed, n_demands=4, n_experts=5, density=0.7):
    rng = random.Random(seed)
    pairs = [(d, e, round(rng.random(), 3)) for d in range(n_demands) for e in range(n_experts)
             if rng.random() < density]
    return synthetic_problem(pairs, wanted=[rng.randint(1, 3) for _ in range(n_demands)],
                             capacity=[rng.randint(0, 2) for _ in range(n_experts)])


SMALL_CASES = [("text", s) for s in range(15)] + [("random_fit", s) for s in range(25)]


def small_case(kind, seed):
    return dense_small_instance(seed) if kind == "text" else random_fit_problem(seed)


@pytest.mark.parametrize("kind, seed", SMALL_CASES)
def test_the_unpruned_solver_reaches_the_brute_force_optimum_on_small_instances(kind, seed):
    problem = small_case(kind, seed)
    solution = solve_optimal(problem, candidates_per_demand=None)
    best = brute_force(problem)
    got = lexicographic_value(problem, solution.chosen)
    assert got[0] == best[0]
    assert got[1] == pytest.approx(best[1], abs=1e-6)


@pytest.mark.parametrize("kind, seed", SMALL_CASES)
def test_pruning_to_one_candidate_per_demand_still_reaches_the_brute_force_optimum(kind, seed):
    problem = small_case(kind, seed)
    best = brute_force(problem)
    got = lexicographic_value(problem, solve_optimal(problem, candidates_per_demand=1).chosen)
    assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-6)


def test_the_small_cases_are_hard_enough_that_greedy_misses_the_optimum_in_some():
    problems = [small_case(kind, seed) for kind, seed in SMALL_CASES]
    assert sum(len(p.rows) >= 8 for p in problems) >= len(problems) // 2
    worse = [p for p in problems
             if lexicographic_value(p, solve_greedy(p).chosen)[1] < brute_force(p)[1] - 1e-9
             or lexicographic_value(p, solve_greedy(p).chosen)[0] < brute_force(p)[0]]
    assert len(worse) >= 3


def test_the_pruned_solver_matches_an_independent_min_cost_flow_on_a_medium_instance():
    rng = random.Random(7)
    demands, experts, uc, pc = random_instance(rng, 40, 80)
    problem = build_fit(demands, experts, unit_conflicts=uc, pair_conflicts=pc)
    solution = solve_optimal(problem, candidates_per_demand=2)
    assert solution.lp_rounds > 1, "the instance should need the pruning to be repaired"
    graph = nx.DiGraph()
    scale = 10 ** 7
    for d, k in enumerate(problem.wanted):
        graph.add_edge("s", ("d", d), capacity=int(k), weight=0)
    for e, c in enumerate(problem.capacity):
        graph.add_edge(("e", e), "t", capacity=int(c), weight=0)
    for d, e, f in zip(problem.rows, problem.cols, problem.fit):
        graph.add_edge(("d", int(d)), ("e", int(e)), capacity=1, weight=-int(round(f * scale)))
    flow = nx.max_flow_min_cost(graph, "s", "t")
    slots = sum(flow["s"].values())
    fit = -nx.cost_of_flow(graph, flow) / scale
    got = lexicographic_value(problem, solution.chosen)
    assert got[0] == slots and got[1] == pytest.approx(fit, abs=1e-4)


@pytest.mark.parametrize("seed", range(25))
def test_the_matcher_never_breaks_a_conflict_a_load_cap_availability_or_a_wanted_count(seed):
    rng = random.Random(1000 + seed)
    demands, experts, uc, pc = random_instance(rng, rng.randint(3, 12), rng.randint(3, 20))
    result = match_experts(demands, experts, unit_conflicts=uc, pair_conflicts=pc,
                           candidates_per_demand=rng.choice((None, 1, 3)))
    assert_respects_every_rule(demands, experts, uc, pc, result)


@pytest.mark.parametrize("seed", range(10))
def test_the_greedy_baseline_respects_the_rules_and_never_beats_the_optimum(seed):
    rng = random.Random(2000 + seed)
    demands, experts, uc, pc = random_instance(rng, 10, 15)
    problem = build_fit(demands, experts, unit_conflicts=uc, pair_conflicts=pc)
    greedy = explain(problem, solve_greedy(problem))
    optimal = match(problem)
    assert_respects_every_rule(demands, experts, uc, pc, greedy)
    assert (optimal.slots_filled, round(optimal.total_fit, 6)) >= (greedy.slots_filled, round(greedy.total_fit, 6))


def test_serving_more_slots_comes_before_a_higher_fit():
    # Pure fit would send e0 to d0 (0.9) and leave d1 empty; two matches (0.8 + 0.05) serve both.
    problem = synthetic_problem([(0, 0, 0.9), (1, 0, 0.8), (0, 1, 0.05)], wanted=[1, 1], capacity=[1, 1])
    chosen = solve_optimal(problem, candidates_per_demand=None).chosen
    assert sorted(zip(problem.rows[chosen], problem.cols[chosen])) == [(0, 1), (1, 0)]


def test_the_optimum_beats_greedy_where_greedy_is_myopic():
    # Greedy takes (d0, e0) at 0.9 first and then d1 can only take e1 at 0.1; the optimum swaps.
    problem = synthetic_problem([(0, 0, 0.9), (0, 1, 0.85), (1, 0, 0.8), (1, 1, 0.1)],
                                wanted=[1, 1], capacity=[1, 1])
    opt = solve_optimal(problem, candidates_per_demand=None).chosen
    greedy = solve_greedy(problem).chosen
    assert problem.fit[opt].sum() == pytest.approx(1.65)
    assert problem.fit[greedy].sum() == pytest.approx(1.0)


def test_an_expert_serves_a_demand_at_most_once_even_with_spare_capacity():
    problem = synthetic_problem([(0, 0, 0.9)], wanted=[3], capacity=[3])
    assert len(solve_optimal(problem, candidates_per_demand=None).chosen) == 1


def expert(id, unit="ue", region="150100", specialty="畜牧兽医 疫病防控", **kw):
    return Expert(id=id, unit_id=unit, region_code=region, specialty=specialty, title_level="正高级", **kw)


def demand(id="d1", unit="ud", region="150100", text="兽医 疫病防控", **kw):
    return Demand(id=id, unit_id=unit, region_code=region, text=text, **kw)


def test_an_explanation_names_the_matched_terms_region_title_and_load_after():
    result = match_experts([demand()], [expert("e1", capacity=3, load=1)])
    (m,) = result.matches
    ex = m.explanation
    assert "疫病防控" in ex["matched_terms"] and "畜牧兽医" in ex["matched_terms"]
    assert ex["region_relation"] == "same" and ex["title_level"] == "正高级"
    assert ex["load_after"] == 2 and ex["capacity"] == 3
    assert sum(ex["breakdown"].values()) == pytest.approx(m.fit, abs=1e-5)
    assert "疫病防控" in ex["summary"] and "2/3" in ex["summary"]


def test_a_demand_nobody_has_the_specialty_for_stays_unmet_for_that_reason():
    result = match_experts([demand(text="稀土永磁")], [expert("e1")])
    (u,) = result.unmet
    assert u.reason == "no_specialty_match" and u.filled == 0 and "专业" in u.message


def test_a_demand_whose_candidates_are_all_conflicted_says_so():
    result = match_experts([demand(unit="u1")], [expert("e1", unit="u1"), expert("e2")],
                           pair_conflicts=[("e2", "d1")])
    assert result.unmet[0].reason == "all_candidates_conflicted"


def test_a_demand_whose_candidates_are_all_away_says_so():
    away = ((date(2025, 7, 1), date(2025, 7, 31)),)
    result = match_experts([demand(start=date(2025, 7, 5), end=date(2025, 7, 6))],
                           [expert("e1", unavailable=away)])
    assert result.unmet[0].reason == "all_candidates_unavailable"


def test_a_demand_wanting_more_experts_than_exist_gets_all_of_them_and_says_too_few():
    result = match_experts([demand(wanted=3)], [expert("e1"), expert("e2")])
    (u,) = result.unmet
    assert (u.filled, u.reason) == (2, "too_few_candidates")


def test_a_demand_losing_its_candidates_to_others_says_they_are_at_their_load_cap():
    # Both demands want the one expert; d_near wins on region; d_far is left short for the cap.
    experts = [expert("e1", capacity=1)]
    demands = [demand("d_near", region="150100"), demand("d_far", region="152900")]
    result = match_experts(demands, experts)
    assert [m.demand_id for m in result.matches] == ["d_near"]
    assert [(u.demand_id, u.reason) for u in result.unmet] == [("d_far", "candidates_at_load_cap")]


def test_an_expert_already_at_their_cap_is_not_matched_again():
    result = match_experts([demand()], [expert("e1", capacity=2, load=2)])
    assert result.matches == [] and result.unmet[0].reason == "candidates_at_load_cap"


def test_the_result_is_json_able():
    import json
    result = match_experts([demand(wanted=2)], [expert("e1")])
    body = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert body["slots_filled"] == 1 and body["unmet"][0]["reason"] == "too_few_candidates"
