import datetime as dt
from decimal import Decimal

import pytest

from grassroots.errors import Conflict, ValidationFailed
from review.domain.post_evaluation import evaluate_implementation, grade_for, summarise_history
from review.domain.rubrics import load_default_rubric

RUBRIC = load_default_rubric("post_evaluation")


def evaluate(build, scores, year=2025, comments=None, filed=True):
    return evaluate_implementation(RUBRIC, report_id=f"rep{year}", report_filed=filed, application_id=f"a{year}",
                                   unit_id="u1", programme="service_team", year=year, scores=scores,
                                   comments=comments, evaluator="o1", now=build.after)


def all_(value):
    return {c.code: value for c in RUBRIC.criteria}


def test_the_default_post_evaluation_rubric_scores_the_four_implementation_criteria():
    assert [c.label for c in RUBRIC.criteria] == ["目标完成度", "服务成效", "经费使用", "群众满意度"]


@pytest.mark.parametrize("total,grade", [("100", "优秀"), ("90", "优秀"), ("89.99", "良好"), ("75", "良好"),
                                         ("74.99", "合格"), ("60", "合格"), ("59.99", "不合格"), ("0", "不合格")])
def test_the_grade_follows_the_documented_thresholds(total, grade):
    assert grade_for(Decimal(total)) == grade


def test_an_implementation_is_scored_into_a_total_and_a_grade(build):
    ev = evaluate(build, {"goal_completion": 100, "service_effect": 90, "fund_use": 80, "satisfaction": 70})
    assert (ev.total, ev.grade) == (Decimal("87.00"), "良好")  # 30 + 27 + 16 + 14


def test_post_evaluation_waits_for_the_filed_report(build):
    with pytest.raises(Conflict) as err:
        evaluate(build, all_(80), filed=False)
    assert err.value.code == "report_not_filed"


def test_a_low_implementation_score_needs_a_comment(build):
    with pytest.raises(ValidationFailed) as err:
        evaluate(build, {**all_(80), "fund_use": 40})
    assert [p["path"] for p in err.value.details] == ["comments.fund_use"]


def test_a_unit_history_shows_the_latest_grade_and_the_average(build):
    history = [evaluate(build, all_(95), 2023), evaluate(build, all_(55), 2024, comments=all_("未完成")),
               evaluate(build, all_(80), 2022)]
    summary = summarise_history(history)
    assert summary["count"] == 3
    assert summary["latest"]["year"] == 2024 and summary["latest"]["grade"] == "不合格"
    assert (summary["average_total"], summary["average_grade"]) == ("76.67", "良好")
    assert summarise_history([])["latest"] is None
