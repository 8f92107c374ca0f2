import datetime as dt

import pytest

from grassroots.errors import Conflict, ValidationFailed
from review.domain import ministry
from review.domain.rounds import RoundState, transition
from review.domain.selection import OutcomeLine, SelectionProposal

D = dt.date(2025, 5, 8)


@pytest.fixture
def published(build):
    rnd = build.round(apps=("a1", "a2"), state="closed")
    for s in (RoundState.SELECTION_PROPOSED, RoundState.SELECTION_APPROVED, RoundState.PUBLISHED):
        rnd = transition(rnd, s)
    proposal = SelectionProposal("p1", "r1", (OutcomeLine("a1", "recommended_national"),
                                              OutcomeLine("a2", "selected")), "o1", build.after, status="approved",
                                 decided_by="o2")
    return rnd, proposal


def later(build):
    return build.after + dt.timedelta(days=100)


def test_the_ministry_decision_on_a_recommendation_is_recorded_with_its_document_and_announced(published, build):
    rnd, proposal = published
    decision, event = ministry.record_ministry_decision(rnd, proposal, "a1", None, True, "人社厅函〔2025〕12号", D,
                                                         "o1", later(build), facts=build.app("a1"))
    assert (decision.approved, decision.document_ref, decision.decided_on) == (True, "人社厅函〔2025〕12号", D)
    assert event["type"] == "ministry_decided"
    assert {k: event["payload"][k] for k in ("call_id", "application_id", "unit_id", "approved", "document_ref",
                                             "decided_on", "correction")} == {
        "call_id": "c2025", "application_id": "a1", "unit_id": "u-a1", "approved": True,
        "document_ref": "人社厅函〔2025〕12号", "decided_on": "2025-05-08", "correction": False}


def test_only_applications_recommended_to_the_ministry_get_a_ministry_decision(published, build):
    rnd, proposal = published
    with pytest.raises(Conflict) as err:
        ministry.record_ministry_decision(rnd, proposal, "a2", None, True, "人社厅函〔2025〕12号", D, "o1", later(build))
    assert err.value.code == "not_recommended"


def test_a_ministry_decision_is_recorded_once_and_changed_only_by_a_correction_with_a_reason(published, build):
    rnd, proposal = published
    first, _ = ministry.record_ministry_decision(rnd, proposal, "a1", None, True, "人社厅函〔2025〕12号", D, "o1",
                                                 later(build))
    with pytest.raises(Conflict) as err:
        ministry.record_ministry_decision(rnd, proposal, "a1", first, False, "人社厅函〔2025〕13号", D, "o1",
                                          later(build))
    assert err.value.code == "ministry_decision_already_recorded"
    with pytest.raises(ValidationFailed) as err:
        ministry.correct_ministry_decision(rnd, first, False, "人社厅函〔2025〕13号", D, "o2", later(build), "")
    assert err.value.code == "reason_required"
    fixed, event = ministry.correct_ministry_decision(rnd, first, False, "人社厅函〔2025〕13号", D, "o2",
                                                      later(build), "录入时看错文件")
    assert fixed.approved is False and fixed.corrections[0]["approved"] is True
    assert fixed.corrections[0]["reason"] == "录入时看错文件"
    assert event["payload"]["correction"] is True and event["payload"]["previous"]["approved"] is True


def test_a_ministry_decision_needs_a_well_formed_document_reference_and_a_past_date(published, build):
    rnd, proposal = published
    with pytest.raises(ValidationFailed) as err:
        ministry.record_ministry_decision(rnd, proposal, "a1", None, True, "12号文", dt.date(2030, 1, 1), "o1",
                                          later(build))
    assert [p["code"] for p in err.value.details] == ["invalid_document_ref", "in_future"]


def test_no_ministry_decision_before_publication(build):
    rnd = build.round(state="closed")
    proposal = SelectionProposal("p1", "r1", (OutcomeLine("a1", "recommended_national"),), "o1", build.after)
    with pytest.raises(Conflict) as err:
        ministry.record_ministry_decision(rnd, proposal, "a1", None, True, "人社厅函〔2025〕12号", D, "o1", later(build))
    assert err.value.code == "round_not_published"
