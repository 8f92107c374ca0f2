import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from review.domain.assignments import Assignment
from review.domain.facts import ServicePlace
from review.domain.priority import BonusPolicy, priority_list_from_dict
from review.domain.ranking import RankingEntry, rank_applications, sheets_for_ranking
from review.domain.rubrics import ScoreSheet, rubric_from_dict

SH = ZoneInfo("Asia/Shanghai")
RUBRIC = rubric_from_dict({"programme": "service_team", "criteria": [
    {"code": "c0", "label": "总体", "weight": "1", "scale": {"min": 0, "max": 100}}]})
PRIORITY = priority_list_from_dict({"counties": [
    {"county": "边旗", "categories": ["border"]}, {"county": "老区县", "categories": ["old_revolutionary"]}]})
POLICY = BonusPolicy(points={"border": Decimal(3), "old_revolutionary": Decimal(2)}, cap=Decimal(3))
T0 = dt.datetime(2025, 1, 20, 9, tzinfo=SH)


def entry(app, *totals, at=T0, places=()):
    sheets = [ScoreSheet(app, f"e{i}", {"c0": Decimal(str(t))}) for i, t in enumerate(totals)]
    return RankingEntry(app, sheets, at, tuple(ServicePlace(p) for p in places))


def order(entries, k=3):
    return [r.application_id for r in rank_applications(RUBRIC, entries, k, PRIORITY, POLICY)]


def test_with_five_or_more_sheets_the_single_highest_and_lowest_are_dropped():
    [r] = rank_applications(RUBRIC, [entry("a", 10, 80, 82, 84, 100)], 5, PRIORITY, POLICY)
    assert r.method == "trimmed_mean" and r.base_score == Decimal("82.00")
    assert [(s.reviewer_id, s.dropped) for s in r.sheets] == [
        ("e0", "lowest"), ("e1", None), ("e2", None), ("e3", None), ("e4", "highest")]


def test_equal_extremes_drop_exactly_one_sheet_each():
    [r] = rank_applications(RUBRIC, [entry("a", 90, 90, 70, 70, 80)], 5, PRIORITY, POLICY)
    assert [s.dropped for s in r.sheets] == ["highest", None, "lowest", None, None]
    assert r.base_score == Decimal("80.00")


def test_with_fewer_than_five_sheets_every_sheet_counts():
    [r] = rank_applications(RUBRIC, [entry("a", 10, 80, 90, 100)], 4, PRIORITY, POLICY)
    assert r.method == "mean" and r.base_score == Decimal("70.00")
    assert all(s.dropped is None for s in r.sheets)


def test_an_application_with_fewer_sheets_than_required_ranks_after_every_complete_one():
    ranked = rank_applications(RUBRIC, [entry("a_short", 99, 99), entry("b_full", 50, 50, 50)], 3, PRIORITY, POLICY)
    assert [(r.application_id, r.rank, r.complete) for r in ranked] == [("b_full", 1, True), ("a_short", 2, False)]
    assert "不完整" in ranked[1].explain()["method_text"]


def test_an_application_without_any_sheet_has_no_score_and_comes_last():
    ranked = rank_applications(RUBRIC, [entry("none"), entry("one", 10)], 3, PRIORITY, POLICY)
    assert [(r.application_id, r.final_score) for r in ranked] == [("one", Decimal("10.00")), ("none", None)]


def test_the_priority_bonus_is_added_once_and_can_change_the_order():
    assert order([entry("a_plain", 82, 82, 82), entry("b_border", 80, 80, 80, places=["边旗", "老区县"])]) == \
        ["b_border", "a_plain"]
    [r] = rank_applications(RUBRIC, [entry("b", 80, 80, 80, places=["边旗", "老区县"])], 3, PRIORITY, POLICY)
    assert (r.base_score, r.bonus.points, r.final_score) == (Decimal("80.00"), Decimal(3), Decimal("83.00"))


def test_tie_on_final_score_goes_to_the_higher_base_score():
    # both 83: one earned it, the other got 3 bonus points
    assert order([entry("bonus", 80, 80, 80, places=["边旗"]), entry("earned", 83, 83, 83)]) == ["earned", "bonus"]


def test_tie_on_base_score_goes_to_more_sheets():
    # ids chosen so that the last tie-break (application id) would give the opposite order
    assert order([entry("a_three", 80, 80, 80), entry("b_four", 80, 80, 80, 80)]) == ["b_four", "a_three"]


def test_tie_on_sheets_goes_to_lower_dispersion():
    assert order([entry("a_split", 70, 80, 90), entry("b_agreed", 79, 80, 81)]) == ["b_agreed", "a_split"]


def test_tie_on_dispersion_goes_to_the_earlier_submission():
    late = T0 + dt.timedelta(hours=1)
    assert order([entry("a_late", 80, 80, 80, at=late), entry("b_early", 80, 80, 80)]) == ["b_early", "a_late"]


def test_a_complete_tie_goes_to_the_smaller_application_id_whatever_the_input_order():
    assert order([entry("b", 80, 80, 80), entry("a", 80, 80, 80)]) == ["a", "b"]
    assert order([entry("a", 80, 80, 80), entry("b", 80, 80, 80)]) == ["a", "b"]


def test_the_ranking_explains_how_each_number_was_computed():
    [r] = rank_applications(RUBRIC, [entry("a", 60, 70, 80, 90, 95, places=["老区县"])], 5, PRIORITY, POLICY)
    explained = r.explain()
    assert explained["sheets_used"] == 3 and explained["sheets_dropped"] == 2
    assert [s["weighted_total"] for s in explained["sheets"]] == ["60.0000", "70.0000", "80.0000", "90.0000",
                                                                   "95.0000"]
    assert (explained["mean"], explained["base_score"], explained["final_score"]) == ("80.00", "80.00", "82.00")
    assert explained["bonus"]["points"] == "2" and "革命老区" in explained["bonus"]["reason"]
    assert explained["dispersion"] == "8.16"
    assert "去掉一个最高分和一个最低分" in explained["method_text"]


def test_weighted_totals_follow_the_rubric_weights():
    rubric = rubric_from_dict({"programme": "service_team", "criteria": [
        {"code": "x", "label": "甲", "weight": "0.7", "scale": {"min": 0, "max": 10}},
        {"code": "y", "label": "乙", "weight": "0.3", "scale": {"min": 0, "max": 10}}]})
    sheets = [ScoreSheet("a", "e1", {"x": Decimal(10), "y": Decimal(0)})]
    [r] = rank_applications(rubric, [RankingEntry("a", sheets, T0)], 1, PRIORITY, POLICY)
    assert r.base_score == Decimal("70.00")


def test_a_sheet_from_a_reviewer_who_later_declared_a_conflict_is_not_used():
    assignments = [Assignment("1", "r1", "a", "e0"), Assignment("2", "r1", "a", "e1", status="conflict_declared")]
    sheets = [ScoreSheet("a", "e0", {"c0": Decimal(50)}), ScoreSheet("a", "e1", {"c0": Decimal(100)})]
    assert [s.reviewer_id for s in sheets_for_ranking(assignments, sheets)] == ["e0"]
