import datetime as dt

import pytest

from grassroots.errors import BadRequest, ValidationFailed
from review.domain.decisions import KINDS, decision_record

AT = dt.datetime(2025, 3, 1, 9, tzinfo=dt.timezone.utc)


def test_every_decision_kind_is_recorded_with_who_role_when_what_and_why():
    for kind in ("open_round", "assign", "declare_conflict", "score", "propose_selection", "approve_selection",
                 "reject_selection", "publish", "ministry_decision", "post_evaluation"):
        assert kind in KINDS
    rec = decision_record("approve_selection", actor_id="o2", actor_role="programme_officer", at=AT,
                          subject_type="selection_proposal", subject_id="p1", what={"approved": True},
                          why="同意", round_id="r1")
    assert rec.to_dict() == {"kind": "approve_selection", "label": "批准遴选方案", "actor_id": "o2",
                             "actor_role": "programme_officer", "at": "2025-03-01T09:00:00+00:00",
                             "subject_type": "selection_proposal", "subject_id": "p1", "round_id": "r1",
                             "what": {"approved": True}, "why": "同意"}


def test_decisions_against_something_need_a_reason():
    with pytest.raises(ValidationFailed) as err:
        decision_record("reject_selection", actor_id="o2", actor_role="programme_officer", at=AT,
                        subject_type="selection_proposal", subject_id="p1")
    assert [p["path"] for p in err.value.details] == ["why"]


def test_a_decision_record_needs_an_actor_a_known_kind_and_an_aware_time():
    with pytest.raises(ValidationFailed):
        decision_record("score", actor_id="", actor_role="reviewer", at=AT, subject_type="assignment",
                        subject_id="x1")
    with pytest.raises(BadRequest):
        decision_record("vote", actor_id="o1", actor_role="programme_officer", at=AT, subject_type="x",
                        subject_id="x")
    with pytest.raises(BadRequest):
        decision_record("score", actor_id="e1", actor_role="reviewer", at=dt.datetime(2025, 3, 1),
                        subject_type="assignment", subject_id="x1")
