import pytest

from grassroots.errors import Conflict, Forbidden, ValidationFailed
from review.domain import assignments
from review.domain.assignments import Assignment


def ids():
    counter = iter(range(1000))
    return lambda: f"as{next(counter)}"


@pytest.fixture
def world(build):
    apps = {"a1": build.app("a1", league="150100"), "a2": build.app("a2", league="150200")}
    reviewers = {r: build.reviewer(r, league="150600") for r in ("e1", "e2", "e3")}
    return build.round(apps=("a1", "a2"), k=2, load_cap=2), apps, reviewers


def codes(err):
    return [p["code"] for p in err.value.details]


def test_a_proposal_that_follows_every_rule_becomes_active_assignments(world, build):
    rnd, apps, reviewers = world
    made = assignments.assign(rnd, [("a1", "e1"), ("a1", "e2"), ("a2", "e1"), ("a2", "e3")], apps, reviewers, [],
                              build.after, new_id=ids())
    assert [(a.id, a.application_id, a.reviewer_id, a.status) for a in made] == [
        ("as0", "a1", "e1", "active"), ("as1", "a1", "e2", "active"),
        ("as2", "a2", "e1", "active"), ("as3", "a2", "e3", "active")]


def test_a_reviewer_never_reviews_an_application_of_their_own_unit(world, build):
    rnd, apps, reviewers = world
    reviewers["e1"] = build.reviewer("e1", unit="u-a1", league="150600")
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1"), ("a1", "e2"), ("a2", "e1"), ("a2", "e3")], apps, reviewers, [],
                           build.after)
    assert err.value.code == "assignment_proposal_invalid"
    assert err.value.details == [{"path": "proposal[0]", "code": "own_unit",
                                  "message": "评审专家不得评审本单位申报的项目"}]


def test_a_reviewer_never_reviews_an_application_of_their_own_league_or_city(world, build):
    rnd, apps, reviewers = world
    reviewers["e2"] = build.reviewer("e2", league="150100")
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1"), ("a1", "e2"), ("a2", "e1"), ("a2", "e3")], apps, reviewers, [],
                           build.after)
    assert [(p["path"], p["code"]) for p in err.value.details] == [("proposal[1]", "same_league")]


def test_a_county_level_city_counts_as_its_league_for_conflicts_of_interest(build):
    rnd = build.round(apps=("a1",), k=1)
    apps = {"a1": build.app("a1", league="150781")}  # 满洲里市, in 呼伦贝尔市 150700
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1")], apps, {"e1": build.reviewer("e1", league="150700")}, [],
                           build.after)
    assert codes(err) == ["same_league"]


def test_a_reviewer_who_declared_a_conflict_is_never_proposed_again_for_that_application(world, build):
    rnd, apps, reviewers = world
    existing = [Assignment("x", "r1", "a1", "e3", status="conflict_declared", conflict_reason="亲属")]
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e3"), ("a1", "e2"), ("a2", "e1"), ("a2", "e2")], apps, reviewers,
                           existing, build.after)
    assert codes(err) == ["declared_conflict"]


def test_a_conflict_known_from_elsewhere_also_blocks_the_pair(world, build):
    rnd, apps, reviewers = world
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1"), ("a1", "e2"), ("a2", "e1"), ("a2", "e3")], apps, reviewers, [],
                           build.after, conflicts=[("a2", "e3")])
    assert codes(err) == ["declared_conflict"]


def test_a_reviewer_load_beyond_the_round_cap_is_refused(world, build):
    rnd, apps, reviewers = world
    existing = [Assignment("x", "r1", "a9", "e1")]
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1"), ("a1", "e2"), ("a2", "e1"), ("a2", "e3")], apps, reviewers,
                           existing, build.after)
    assert [(p["path"], p["code"]) for p in err.value.details] == [("reviewers.e1", "load_cap_exceeded")]


def test_a_reviewer_own_load_cap_overrides_the_round_cap(world, build):
    rnd, apps, reviewers = world
    reviewers["e1"] = build.reviewer("e1", league="150600", cap=1)
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1"), ("a1", "e2"), ("a2", "e1"), ("a2", "e3")], apps, reviewers, [],
                           build.after)
    assert codes(err) == ["load_cap_exceeded"]


def test_each_application_gets_exactly_k_reviewers(world, build):
    rnd, apps, reviewers = world
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1"), ("a1", "e2"), ("a1", "e3"), ("a2", "e1")], apps,
                           {**reviewers, "e1": build.reviewer("e1", league="150600", cap=5)}, [], build.after)
    assert [(p["path"], p["code"]) for p in err.value.details] == [
        ("applications.a1", "too_many_reviewers"), ("applications.a2", "too_few_reviewers")]


def test_every_problem_of_a_bad_proposal_is_reported_at_once_and_nothing_is_made(world, build):
    rnd, apps, reviewers = world
    reviewers["e2"] = build.reviewer("e2", league="150100")
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1"), ("a1", "e1"), ("a1", "e2"), ("zz", "e3"), ("a2", "nobody")],
                           apps, reviewers, [], build.after)
    assert [(p["path"], p["code"]) for p in err.value.details] == [
        ("proposal[1]", "duplicate_pair"), ("proposal[2]", "same_league"), ("proposal[3]", "unknown_application"),
        ("proposal[4]", "unknown_reviewer"), ("applications.a2", "too_few_reviewers")]


def test_a_pair_already_active_is_not_assigned_twice(world, build):
    rnd, apps, reviewers = world
    existing = [Assignment("x", "r1", "a1", "e1")]
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1")], apps, reviewers, existing, build.after, cover=["a1"])
    assert "already_assigned" in codes(err)


def test_assignments_are_made_only_while_the_round_is_open(world, build):
    _, apps, reviewers = world
    with pytest.raises(Conflict) as err:
        assignments.assign(build.round(state="closed"), [], apps, reviewers, [], build.after)
    assert err.value.code == "round_closed"


def test_declaring_a_conflict_keeps_the_reason_and_asks_for_a_replacement_excluding_current_reviewers(world, build):
    rnd, _, _ = world
    mine = Assignment("x1", "r1", "a1", "e1")
    others = [mine, Assignment("x2", "r1", "a1", "e2"), Assignment("x0", "r1", "a1", "e4", status="conflict_declared"),
              Assignment("x3", "r1", "a2", "e3")]
    declared, request = assignments.declare_conflict(rnd, mine, others, "e1", "reviewer", " 曾指导该项目 ", build.after)
    assert (declared.status, declared.conflict_reason, declared.conflict_declared_by) == \
        ("conflict_declared", "曾指导该项目", "e1")
    assert request.to_dict() == {"round_id": "r1", "application_id": "a1",
                                 "excluded_reviewer_ids": ["e1", "e2", "e4"], "count": 1}


def test_the_replacement_must_restore_k_reviewers_without_the_declarer(world, build):
    rnd, apps, reviewers = world
    mine = Assignment("x1", "r1", "a1", "e1")
    existing = [mine, Assignment("x2", "r1", "a1", "e2")]
    declared, request = assignments.declare_conflict(rnd, mine, existing, "e1", "reviewer", "同单位合作", build.after)
    existing = [declared, existing[1]]
    with pytest.raises(ValidationFailed) as err:
        assignments.assign(rnd, [("a1", "e1")], apps, reviewers, existing, build.after, cover=[request.application_id])
    assert codes(err) == ["declared_conflict"]
    made = assignments.assign(rnd, [("a1", "e3")], apps, reviewers, existing, build.after, cover=["a1"])
    assert [(a.application_id, a.reviewer_id) for a in made] == [("a1", "e3")]


def test_a_conflict_declaration_needs_a_reason(world, build):
    rnd, _, _ = world
    a = Assignment("x1", "r1", "a1", "e1")
    with pytest.raises(ValidationFailed) as err:
        assignments.declare_conflict(rnd, a, [a], "e1", "reviewer", "  ", build.after)
    assert err.value.code == "conflict_reason_required"


def test_a_reviewer_cannot_declare_a_conflict_on_someone_else_assignment_but_an_officer_can(world, build):
    rnd, _, _ = world
    a = Assignment("x1", "r1", "a1", "e1")
    with pytest.raises(Forbidden):
        assignments.declare_conflict(rnd, a, [a], "e2", "reviewer", "理由", build.after)
    declared, _ = assignments.declare_conflict(rnd, a, [a], "officer1", "programme_officer", "举报核实", build.after)
    assert declared.conflict_declared_by == "officer1"


def test_a_conflict_cannot_be_declared_twice_on_the_same_assignment(world, build):
    rnd, _, _ = world
    a = Assignment("x1", "r1", "a1", "e1", status="conflict_declared")
    with pytest.raises(Conflict) as err:
        assignments.declare_conflict(rnd, a, [a], "e1", "reviewer", "理由", build.after)
    assert err.value.code == "assignment_not_active"
