from datetime import date

import pytest

from experts.domain.fit import Demand, Expert, FitWeights, build_fit


def expert(id, unit="ue", region="150100", specialty="畜牧兽医", title="副高级", **kw):
    return Expert(id=id, unit_id=unit, region_code=region, specialty=specialty, title_level=title, **kw)


def demand(id="d1", unit="ud", region="150100", text="兽医 疫病防控", **kw):
    return Demand(id=id, unit_id=unit, region_code=region, text=text, **kw)


def pairs(problem):
    return {(problem.demands[r].id, problem.experts[c].id) for r, c in zip(problem.rows, problem.cols)}


def fit_of(problem, expert_id):
    for r, c, f in zip(problem.rows, problem.cols, problem.fit):
        if problem.experts[c].id == expert_id:
            return f
    raise AssertionError(f"{expert_id} is not a candidate")


def test_an_expert_never_serves_their_own_unit():
    problem = build_fit([demand(unit="u1")], [expert("e1", unit="u1"), expert("e2", unit="u2")])
    assert pairs(problem) == {("d1", "e2")}


def test_a_declared_unit_conflict_excludes_the_pair():
    problem = build_fit([demand(unit="u1")], [expert("e1"), expert("e2")], unit_conflicts=[("e1", "u1")])
    assert pairs(problem) == {("d1", "e2")}


def test_a_declared_expert_demand_conflict_excludes_only_that_demand():
    problem = build_fit([demand("d1"), demand("d2")], [expert("e1")], pair_conflicts=[("e1", "d1")])
    assert pairs(problem) == {("d2", "e1")}


def test_an_expert_unavailable_over_the_demands_dates_is_excluded_and_adjacent_dates_are_not():
    away = ((date(2025, 7, 1), date(2025, 7, 10)),)
    problem = build_fit(
        [demand("d1", start=date(2025, 7, 10), end=date(2025, 7, 12)),
         demand("d2", start=date(2025, 7, 11), end=date(2025, 7, 13)),
         demand("d3")],
        [expert("e1", unavailable=away)])
    assert pairs(problem) == {("d2", "e1"), ("d3", "e1")}
    assert list(problem.n_after_conflicts) == [1, 1, 1] and list(problem.n_after_availability) == [0, 1, 1]


def test_region_relation_orders_same_over_neighbour_over_elsewhere():
    def relation(a, b):
        return "same" if a == b else ("neighbour" if {a, b} == {"150100", "150200"} else "elsewhere")
    problem = build_fit([demand(region="150100")],
                        [expert("same", region="150100"), expert("near", region="150200"),
                         expert("far", region="152900")], region_relation=relation)
    assert fit_of(problem, "same") > fit_of(problem, "near") > fit_of(problem, "far")


def test_a_higher_title_fits_better_all_else_equal():
    problem = build_fit([demand()], [expert("senior", title="正高级"), expert("mid", title="中级")])
    assert fit_of(problem, "senior") > fit_of(problem, "mid")


def test_an_expert_sharing_no_term_is_not_a_candidate():
    problem = build_fit([demand(text="稀土永磁")], [expert("e1", specialty="草原生态")])
    assert pairs(problem) == set() and problem.n_specialty[0] == 0


def test_a_minimum_similarity_cuts_weak_candidates():
    experts = [expert("strong", specialty="稀土永磁 冶金"), expert("weak", specialty="冶金 化工 采矿 选矿")]
    loose = build_fit([demand(text="稀土永磁 冶金")], experts)
    strict = build_fit([demand(text="稀土永磁 冶金")], experts, weights=FitWeights(min_similarity=0.6))
    assert {e for _, e in pairs(loose)} == {"strong", "weak"}
    assert {e for _, e in pairs(strict)} == {"strong"}


def test_fit_is_the_normalised_weighted_sum_and_stays_within_zero_and_one():
    weights = FitWeights(similarity=3, title=1, region=1)
    problem = build_fit([demand()], [expert("e1", title="正高级")], weights=weights)
    expected = 0.6 * problem.similarity[0] + 0.2 * 1.0 + 0.2 * 1.0
    assert problem.fit[0] == pytest.approx(expected) and 0 <= problem.fit[0] <= 1


def test_negative_or_all_zero_weights_are_refused():
    with pytest.raises(ValueError):
        FitWeights(similarity=-1)
    with pytest.raises(ValueError):
        FitWeights(similarity=0, title=0, region=0)


def test_an_unknown_region_relation_answer_is_refused():
    with pytest.raises(ValueError):
        build_fit([demand()], [expert("e1")], region_relation=lambda a, b: "adjacent")


def test_the_remaining_capacity_is_the_cap_less_the_current_load():
    problem = build_fit([demand()], [expert("e1", capacity=3, load=1), expert("e2", capacity=1, load=2)])
    assert list(problem.capacity) == [2, 0]
