from experts.domain.fit import Expert
from experts.domain.reviewers import REVIEW_WEIGHTS, Application, propose_reviewers


def reviewer(id, unit="ur", region="150200", specialty="草原生态 生态修复", **kw):
    return Expert(id=id, unit_id=unit, region_code=region, specialty=specialty, title_level="正高级",
                  capacity=kw.pop("capacity", 5), **kw)


def application(id="a1", unit="ua", region="150100", text="退化草原生态修复", **kw):
    return Application(id=id, unit_id=unit, region_code=region, text=text, **kw)


def proposed(result):
    return {(m.demand_id, m.expert_id) for m in result.matches}


def test_a_reviewer_never_reviews_their_own_units_application():
    result = propose_reviewers([application(unit="u1")], [reviewer("r1", unit="u1"), reviewer("r2")],
                               per_application=2)
    assert proposed(result) == {("a1", "r2")}


def test_a_reviewer_never_reviews_an_application_from_their_own_league_or_city():
    result = propose_reviewers([application(region="150100")],
                               [reviewer("r1", region="150100"), reviewer("r2", region="150200")],
                               per_application=2)
    assert proposed(result) == {("a1", "r2")}


def test_already_assigned_pairs_are_not_proposed_again_for_a_replacement():
    reviewers = [reviewer("r1"), reviewer("r2"), reviewer("r3")]
    result = propose_reviewers([application(wanted=1)], reviewers,
                               already_assigned=[("r1", "a1"), ("r2", "a1")])
    assert proposed(result) == {("a1", "r3")}


def test_each_application_gets_k_reviewers_within_their_load_caps():
    apps = [application(f"a{i}") for i in range(3)]
    reviewers = [reviewer(f"r{i}", capacity=2) for i in range(4)]
    result = propose_reviewers(apps, reviewers, per_application=2)
    assert result.slots_filled == 6 and not result.unmet
    loads = {}
    for m in result.matches:
        loads[m.expert_id] = loads.get(m.expert_id, 0) + 1
    assert max(loads.values()) <= 2


def test_declared_unit_conflicts_are_respected_for_reviewers():
    result = propose_reviewers([application(unit="u9")], [reviewer("r1"), reviewer("r2")],
                               per_application=2, unit_conflicts=[("r1", "u9")])
    assert proposed(result) == {("a1", "r2")}


def test_region_does_not_weigh_in_a_reviewers_fit():
    assert REVIEW_WEIGHTS.normalised()[2] == 0
