import datetime as dt

import pytest

from grassroots.errors import BadRequest, Conflict
from review.domain import rounds
from review.domain.assignments import Assignment
from review.domain.rounds import RoundState


def test_a_round_cannot_open_before_the_call_deadline(build):
    rnd = build.round(state="draft")
    with pytest.raises(Conflict) as err:
        rounds.open_round(rnd, build.deadline - dt.timedelta(minutes=1))
    assert err.value.code == "round_not_open_before_deadline"
    assert "截止" in err.value.message


def test_a_round_opens_once_the_deadline_has_passed(build):
    rnd = rounds.open_round(build.round(state="draft"), build.deadline)
    assert rnd.state is RoundState.OPEN and rnd.opened_at == build.deadline


def test_a_rolling_programme_round_opens_before_the_deadline(build):
    rnd = build.round(state="draft", rolling=True)
    opened = rounds.open_round(rnd, build.deadline - dt.timedelta(days=5))
    assert opened.state is RoundState.OPEN


def test_the_round_walks_from_draft_to_published_and_never_skips_a_state(build):
    rnd = build.round(state="draft")
    with pytest.raises(Conflict) as err:
        rounds.close_round(rnd, build.after)
    assert err.value.code == "invalid_round_transition"
    rnd = rounds.open_round(rnd, build.after)
    rnd = rounds.close_round(rnd, build.after)
    for target in (RoundState.SELECTION_PROPOSED, RoundState.CLOSED, RoundState.SELECTION_PROPOSED,
                   RoundState.SELECTION_APPROVED, RoundState.PUBLISHED):
        rnd = rounds.transition(rnd, target)
    assert rnd.state is RoundState.PUBLISHED
    with pytest.raises(Conflict):
        rounds.transition(rnd, RoundState.OPEN)


def test_a_closed_round_cannot_be_reopened(build):
    with pytest.raises(Conflict) as err:
        rounds.transition(build.round(state="closed"), RoundState.OPEN)
    assert err.value.code == "invalid_round_transition"


def test_a_submitted_application_joins_the_round_once_even_if_the_event_repeats(build):
    rnd = build.round(apps=())
    rnd = rounds.admit_application(rnd, "a1")
    rnd = rounds.admit_application(rnd, "a1")
    assert rnd.application_ids == ("a1",)


def test_an_application_cannot_join_a_closed_round(build):
    with pytest.raises(Conflict) as err:
        rounds.admit_application(build.round(state="closed"), "late")
    assert err.value.code == "round_closed"


def test_a_withdrawn_application_leaves_and_its_active_assignments_are_cancelled(build):
    rnd = build.round()
    existing = [Assignment("x1", "r1", "a1", "e1"), Assignment("x2", "r1", "a2", "e1"),
                Assignment("x3", "r1", "a1", "e2", status="conflict_declared", conflict_reason="同事")]
    rnd2, changed = rounds.remove_application(rnd, "a1", existing, build.after, "申报单位撤回")
    assert rnd2.application_ids == ("a2",)
    assert [(a.id, a.status, a.cancel_reason) for a in changed] == [("x1", "cancelled", "申报单位撤回")]


def test_an_application_cannot_leave_after_publication(build):
    rnd = rounds.transition(rounds.transition(rounds.transition(build.round(state="closed"),
                            RoundState.SELECTION_PROPOSED), RoundState.SELECTION_APPROVED), RoundState.PUBLISHED)
    with pytest.raises(Conflict) as err:
        rounds.remove_application(rnd, "a1", [], build.after, "撤回")
    assert err.value.code == "round_published"


def test_reviewers_per_application_and_load_cap_are_set_per_round_but_frozen_once_open(build):
    rnd = rounds.configure_round(build.round(state="draft"), reviewers_per_application=5, load_cap=4)
    assert (rnd.k, rnd.load_cap) == (5, 4)
    with pytest.raises(Conflict) as err:
        rounds.configure_round(rounds.open_round(rnd, build.after), reviewers_per_application=3)
    assert err.value.code == "round_already_open"
    with pytest.raises(BadRequest):
        rounds.configure_round(build.round(state="draft"), reviewers_per_application=0)


def test_a_round_for_an_unknown_programme_or_with_a_naive_deadline_is_refused(build):
    with pytest.raises(BadRequest) as err:
        rounds.new_round("r", "c", "lottery", build.deadline)
    assert err.value.code == "unknown_programme"
    with pytest.raises(BadRequest) as err:
        rounds.new_round("r", "c", "chizi", dt.datetime(2025, 1, 24))
    assert err.value.code == "naive_datetime"
