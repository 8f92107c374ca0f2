from decimal import Decimal

from review.domain.assignments import Assignment
from review.domain.completion import application_progress, reviewer_progress
from review.domain.rubrics import ScoreSheet


def sheet(app, reviewer):
    return ScoreSheet(app, reviewer, {"c0": Decimal(5)})


ASSIGNMENTS = [Assignment("1", "r1", "a1", "e1"), Assignment("2", "r1", "a2", "e1"),
               Assignment("3", "r1", "a1", "e2"), Assignment("4", "r1", "a2", "e3", status="conflict_declared"),
               Assignment("5", "r1", "a2", "e4", status="cancelled")]
SHEETS = [sheet("a1", "e1"), sheet("a1", "e2"), sheet("a2", "e3")]


def test_each_reviewer_sees_assigned_scored_and_remaining_counting_only_active_assignments():
    progress = {k: v.to_dict() for k, v in reviewer_progress(ASSIGNMENTS, SHEETS).items()}
    assert progress == {"e1": {"reviewer_id": "e1", "assigned": 2, "scored": 1, "remaining": 1},
                        "e2": {"reviewer_id": "e2", "assigned": 1, "scored": 1, "remaining": 0}}


def test_each_application_counts_sheets_received_against_k_and_a_conflicted_sheet_does_not_count():
    progress = application_progress(["a1", "a2", "a3"], 2, ASSIGNMENTS, SHEETS)
    assert [(p.application_id, p.assigned, p.received, p.complete) for p in progress.values()] == [
        ("a1", 2, 2, True), ("a2", 1, 0, False), ("a3", 0, 0, False)]
