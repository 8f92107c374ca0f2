from decimal import Decimal

import pytest

from grassroots.errors import Conflict, Forbidden, NotFound, ValidationFailed
from review.domain import rubrics
from review.domain.assignments import Assignment

PROGRAMMES = ["service_team", "regional_base", "national_base", "key_expert", "chizi", "postdoc_hosting"]


def simple(weights=("0.5", "0.5"), scale=(0, 10), comment="optional", below=None):
    return {"programme": "service_team", "name": "测试", "criteria": [
        {"code": f"c{i}", "label": f"指标{i}", "weight": w, "scale": {"min": scale[0], "max": scale[1]},
         "comment": comment, **({"comment_below": below} if below is not None else {})}
        for i, w in enumerate(weights)]}


@pytest.mark.parametrize("programme", PROGRAMMES)
def test_every_programme_ships_a_valid_default_rubric_whose_weights_sum_to_one(programme):
    rubric = rubrics.load_default_rubric(programme)
    assert rubric.programme == programme
    assert sum(c.weight for c in rubric.criteria) == Decimal(1)
    assert rubrics.rubric_problems(rubric) == []


def test_the_service_team_rubric_uses_the_department_criteria():
    labels = [c.label for c in rubrics.load_default_rubric("service_team").criteria]
    assert labels == ["需求精准度", "方案可行性", "专家匹配度", "预期成效", "示范带动", "经费合理性"]


def test_an_unknown_programme_has_no_rubric():
    with pytest.raises(NotFound):
        rubrics.load_default_rubric("lottery")


def test_weights_that_do_not_sum_to_one_are_refused():
    with pytest.raises(ValidationFailed) as err:
        rubrics.rubric_from_dict(simple(("0.5", "0.4")))
    assert err.value.code == "rubric_invalid"
    assert [(p["path"], p["code"]) for p in err.value.details] == [("criteria", "weights_not_one")]


def test_weights_are_compared_exactly_with_a_tolerance_of_one_billionth():
    thirds = ("0.3333333333",) * 3  # sums to 0.9999999999: within 1e-9
    assert rubrics.rubric_from_dict(simple(thirds)).criteria[0].weight == Decimal("0.3333333333")
    with pytest.raises(ValidationFailed):
        rubrics.rubric_from_dict(simple(("0.33333333",) * 3))  # 0.99999999: off by 1e-8


def test_float_weights_from_yaml_are_read_as_their_decimal_text():
    rubric = rubrics.rubric_from_dict(simple((0.1, 0.2, 0.7)))  # 0.1 + 0.2 != 0.3 in binary floats
    assert [c.weight for c in rubric.criteria] == [Decimal("0.1"), Decimal("0.2"), Decimal("0.7")]


def test_every_problem_of_a_rubric_is_reported_with_its_path():
    data = simple(("0.5", "0.5"), scale=(10, 5), comment="below", below=None)
    data["criteria"].append({"code": "c0", "label": "", "weight": "x", "scale": {"min": 0, "max": 10}})
    with pytest.raises(ValidationFailed) as err:
        rubrics.rubric_from_dict(data)
    assert [(p["path"], p["code"]) for p in err.value.details] == [("criteria[2].weight", "not_a_number")]
    data["criteria"][2]["weight"] = "0"
    with pytest.raises(ValidationFailed) as err:
        rubrics.rubric_from_dict(data)
    assert [(p["path"], p["code"]) for p in err.value.details] == [
        ("criteria[0].scale", "invalid_scale"), ("criteria[0].comment_below", "required"),
        ("criteria[1].scale", "invalid_scale"), ("criteria[1].comment_below", "required"),
        ("criteria[2].code", "duplicate_code"), ("criteria[2].label", "required"),
        ("criteria[2].weight", "invalid_weight")]


def test_a_comment_threshold_outside_the_scale_is_refused():
    with pytest.raises(ValidationFailed) as err:
        rubrics.rubric_from_dict(simple(comment="below", below=11))
    assert {p["code"] for p in err.value.details} == {"out_of_scale"}


def test_a_call_can_replace_the_default_rubric_of_a_programme():
    custom = simple(("0.6", "0.4"))
    assert [c.code for c in rubrics.rubric_for_call("service_team", {"rubrics": {"service_team": custom}}).criteria] \
        == ["c0", "c1"]
    assert len(rubrics.rubric_for_call("service_team", {}).criteria) == 6


def test_a_score_sheet_must_score_every_criterion_within_its_scale():
    rubric = rubrics.rubric_from_dict(simple(("0.25", "0.25", "0.25", "0.25")))
    with pytest.raises(ValidationFailed) as err:
        rubrics.validate_score_sheet(rubric, {"c0": 11, "c1": "abc", "c2": True, "extra": 3})
    assert err.value.code == "score_sheet_invalid"
    assert [(p["path"], p["code"]) for p in err.value.details] == [
        ("scores.extra", "unknown_criterion"), ("scores.c0", "out_of_scale"), ("scores.c1", "not_a_number"),
        ("scores.c2", "not_a_number"), ("scores.c3", "required")]


def test_a_comment_is_required_when_a_score_falls_below_the_threshold():
    rubric = rubrics.rubric_from_dict(simple(comment="below", below=6))
    with pytest.raises(ValidationFailed) as err:
        rubrics.validate_score_sheet(rubric, {"c0": "5.5", "c1": 6})
    assert [(p["path"], p["code"]) for p in err.value.details] == [("comments.c0", "comment_required")]
    scores, comments = rubrics.validate_score_sheet(rubric, {"c0": "5.5", "c1": 6}, {"c0": "需求不具体"})
    assert scores == {"c0": Decimal("5.5"), "c1": Decimal(6)} and comments == {"c0": "需求不具体"}


def test_a_criterion_that_always_needs_a_comment_refuses_a_blank_one():
    rubric = rubrics.rubric_from_dict(simple(comment="always"))
    with pytest.raises(ValidationFailed) as err:
        rubrics.validate_score_sheet(rubric, {"c0": 9, "c1": 9}, {"c0": "好", "c1": "   "})
    assert [(p["path"], p["code"]) for p in err.value.details] == [("comments.c1", "comment_required")]


def test_the_weighted_total_is_normalised_to_0_to_100_whatever_the_scales():
    rubric = rubrics.rubric_from_dict({"programme": "chizi", "criteria": [
        {"code": "a", "label": "甲", "weight": "0.5", "scale": {"min": 0, "max": 10}},
        {"code": "b", "label": "乙", "weight": "0.5", "scale": {"min": 1, "max": 5}}]})
    assert rubrics.weighted_total(rubric, {"a": Decimal(10), "b": Decimal(5)}) == Decimal(100)
    assert rubrics.weighted_total(rubric, {"a": Decimal(0), "b": Decimal(1)}) == Decimal(0)
    assert rubrics.weighted_total(rubric, {"a": Decimal(8), "b": Decimal(3)}) == Decimal("65.0000")


def _scoring(build):
    rubric = rubrics.rubric_from_dict(simple())
    return build.round(apps=("a1",)), Assignment("x1", "r1", "a1", "e1"), rubric


def test_a_reviewer_scores_and_may_revise_while_the_round_is_open(build):
    rnd, a, rubric = _scoring(build)
    first = rubrics.submit_score(rnd, a, rubric, "e1", {"c0": 7, "c1": 8}, None, build.after)
    second = rubrics.submit_score(rnd, a, rubric, "e1", {"c0": 9, "c1": 8}, None, build.after, previous=first)
    assert (first.revision, second.revision, second.scores["c0"]) == (1, 2, Decimal(9))


def test_scores_cannot_be_revised_after_the_round_closes(build):
    _, a, rubric = _scoring(build)
    with pytest.raises(Conflict) as err:
        rubrics.submit_score(build.round(state="closed"), a, rubric, "e1", {"c0": 7, "c1": 8}, None, build.after)
    assert err.value.code == "round_closed"
    assert "评审已结束" in err.value.message


def test_a_reviewer_scores_only_their_own_active_assignments(build):
    rnd, a, rubric = _scoring(build)
    with pytest.raises(Forbidden) as err:
        rubrics.submit_score(rnd, a, rubric, "e2", {"c0": 7, "c1": 8}, None, build.after)
    assert err.value.code == "not_your_assignment"
    declared = Assignment("x1", "r1", "a1", "e1", status="conflict_declared")
    with pytest.raises(Forbidden) as err:
        rubrics.submit_score(rnd, declared, rubric, "e1", {"c0": 7, "c1": 8}, None, build.after)
    assert err.value.code == "assignment_not_active"
