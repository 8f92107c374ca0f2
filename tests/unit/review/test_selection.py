import datetime as dt
from decimal import Decimal

import pytest

from grassroots.errors import Conflict, Forbidden, ValidationFailed
from review.domain import selection
from review.domain.priority import BonusPolicy, PriorityList
from review.domain.ranking import RankingEntry, rank_applications
from review.domain.rounds import RoundState
from review.domain.rubrics import ScoreSheet, rubric_from_dict
from review.domain.selection import (DEFAULT_CAPS, NOT_SELECTED, RECOMMENDED_NATIONAL, SELECTED, CapRange,
                                     ProgrammeCaps)

RUBRIC = rubric_from_dict({"programme": "service_team", "criteria": [
    {"code": "c0", "label": "总体", "weight": "1", "scale": {"min": 0, "max": 100}}]})
K = 2


def setup(build, programme="service_team", complete=15, incomplete=0):
    apps = [f"a{i:02d}" for i in range(complete + incomplete)]
    rnd = build.round(programme=programme, apps=apps, k=K, state="closed")
    entries = []
    for i, app in enumerate(apps):
        n = K if i < complete else 1
        entries.append(RankingEntry(app, [ScoreSheet(app, f"e{j}", {"c0": Decimal(90 - i)}) for j in range(n)],
                                    build.after))
    ranking = rank_applications(RUBRIC, entries, K, PriorityList(()), BonusPolicy())
    return rnd, ranking, [r.application_id for r in ranking]


def lines(ids, recommended=0, selected=0, reasons=None):
    reasons = reasons or {}
    out = []
    for i, app in enumerate(ids):
        outcome = RECOMMENDED_NATIONAL if i < recommended else SELECTED if i < recommended + selected else NOT_SELECTED
        out.append({"application_id": app, "outcome": outcome, "reason": reasons.get(app)})
    return out


def problems(rnd, ranking, proposal, caps):
    return [(p["path"], p["code"]) for p in selection.selection_problems(rnd, proposal, ranking, caps)]


def test_service_teams_recommend_two_to_three_to_the_ministry_and_select_ten_others(build):
    rnd, ranking, ids = setup(build)
    caps = DEFAULT_CAPS["service_team"]
    assert problems(rnd, ranking, lines(ids, 3, 10), caps) == []
    assert problems(rnd, ranking, lines(ids, 2, 10), caps) == []


def test_an_eleventh_regional_project_exceeds_the_cap(build):
    rnd, ranking, ids = setup(build)
    with pytest.raises(ValidationFailed) as err:
        selection.validate_selection(rnd, lines(ids, 2, 11), ranking, DEFAULT_CAPS["service_team"])
    assert err.value.code == "cap_exceeded"
    assert [p["path"] for p in err.value.details] == ["caps.selected"]


def test_a_fourth_ministry_recommendation_exceeds_the_cap(build):
    rnd, ranking, ids = setup(build)
    assert problems(rnd, ranking, lines(ids, 4, 10), DEFAULT_CAPS["service_team"]) == \
        [("caps.recommended_national", "cap_exceeded")]


def test_fewer_than_the_minimum_is_refused_when_there_are_enough_candidates(build):
    rnd, ranking, ids = setup(build)
    with pytest.raises(ValidationFailed) as err:
        selection.validate_selection(rnd, lines(ids, 1, 9), ranking, DEFAULT_CAPS["service_team"])
    assert err.value.code == "cap_not_met"
    assert [p["path"] for p in err.value.details] == ["caps.recommended_national", "caps.selected"]
    assert "应不少于2个" in err.value.details[0]["message"]


def test_with_too_few_candidates_the_minimum_shrinks_to_what_is_available(build):
    rnd, ranking, ids = setup(build, complete=7, incomplete=2)
    caps = DEFAULT_CAPS["service_team"]
    assert problems(rnd, ranking, lines(ids, 2, 5), caps) == []
    assert problems(rnd, ranking, lines(ids, 2, 4), caps) == [("caps.selected", "cap_not_met")]


def test_every_application_gets_exactly_one_outcome(build):
    rnd, ranking, ids = setup(build, complete=4)
    caps = ProgrammeCaps(CapRange(0, None), CapRange(0, None))
    proposal = lines(ids[:3]) + [{"application_id": ids[0], "outcome": SELECTED},
                                 {"application_id": "ghost", "outcome": SELECTED},
                                 {"application_id": ids[1], "outcome": "maybe"}]
    assert problems(rnd, ranking, proposal, caps) == [
        ("lines[3]", "duplicate_outcome"), ("lines[4]", "unknown_application"), ("lines[5]", "duplicate_outcome"),
        (f"applications.{ids[3]}", "missing_outcome")]
    proposal = lines(ids[:3]) + [{"application_id": ids[3], "outcome": "maybe"}]
    assert problems(rnd, ranking, proposal, caps) == [("lines[3].outcome", "invalid_outcome")]


def test_an_incompletely_scored_application_is_selected_only_with_a_reason(build):
    rnd, ranking, ids = setup(build, complete=2, incomplete=1)
    caps = ProgrammeCaps(CapRange(0, None), CapRange(0, None))
    short = ids[-1]
    proposal = [{"application_id": a, "outcome": SELECTED if a == short else NOT_SELECTED} for a in ids]
    assert problems(rnd, ranking, proposal, caps) == [("lines[2].reason", "incomplete_without_reason")]
    proposal[-1]["reason"] = "两位专家回避后无可替换专家，现有评分足以判断"
    assert problems(rnd, ranking, proposal, caps) == []


def test_regional_bases_set_up_five_and_recommend_none_to_the_ministry(build):
    rnd, ranking, ids = setup(build, programme="regional_base", complete=8)
    caps = DEFAULT_CAPS["regional_base"]
    assert problems(rnd, ranking, lines(ids, 0, 5), caps) == []
    assert problems(rnd, ranking, lines(ids, 0, 6), caps) == [("caps.selected", "cap_exceeded")]
    assert problems(rnd, ranking, lines(ids, 1, 5), caps) == [("lines[0].outcome", "outcome_not_available")]


def test_national_bases_recommend_one_or_two(build):
    rnd, ranking, ids = setup(build, programme="national_base", complete=4)
    caps = DEFAULT_CAPS["national_base"]
    assert problems(rnd, ranking, lines(ids, 1), caps) == []
    assert problems(rnd, ranking, lines(ids, 3), caps) == [("caps.recommended_national", "cap_exceeded")]
    assert problems(rnd, ranking, lines(ids, 0), caps) == [("caps.recommended_national", "cap_not_met")]


def test_key_experts_chizi_and_postdoc_hosting_have_no_cap_by_default(build):
    for programme in ("key_expert", "chizi", "postdoc_hosting"):
        rnd, ranking, ids = setup(build, programme=programme, complete=12)
        assert problems(rnd, ranking, lines(ids, 12), DEFAULT_CAPS[programme]) == []


def test_caps_come_from_the_call_definition_when_it_sets_them():
    caps = selection.caps_from_definition("key_expert", {"caps": {"recommended_national": {"min": 1, "max": 4}}})
    assert caps.recommended_national == CapRange(1, 4) and caps.selected == DEFAULT_CAPS["key_expert"].selected
    assert selection.caps_from_definition("service_team", {"caps": {"selected": 8}}).selected == CapRange(8, 8)
    assert selection.caps_from_definition("chizi", None) == DEFAULT_CAPS["chizi"]
    with pytest.raises(ValidationFailed) as err:
        selection.caps_from_definition("chizi", {"caps": {"selected": {"min": 3, "max": 1}}})
    assert err.value.code == "caps_invalid"


def propose(build, rnd, ranking, ids, proposer="officer_a"):
    return selection.propose_selection(rnd, "p1", lines(ids, 2, 10), ranking, DEFAULT_CAPS["service_team"],
                                       proposer, build.after, note="按得分排序")


def test_a_selection_is_proposed_only_after_the_round_closed(build):
    rnd, ranking, ids = setup(build)
    proposal, rnd2 = propose(build, rnd, ranking, ids)
    assert rnd2.state is RoundState.SELECTION_PROPOSED and proposal.status == "pending"
    with pytest.raises(Conflict) as err:
        propose(build, rnd2, ranking, ids)
    assert err.value.code == "round_not_closed"


def test_the_proposer_can_never_approve_their_own_proposal(build):
    rnd, ranking, ids = setup(build)
    proposal, rnd = propose(build, rnd, ranking, ids)
    with pytest.raises(Forbidden) as err:
        selection.approve_selection(rnd, proposal, "officer_a", build.after)
    assert err.value.code == "four_eyes_violation"
    assert "提出人" in err.value.message


def test_a_second_officer_approves_and_the_approval_keeps_who_when_and_why(build):
    rnd, ranking, ids = setup(build)
    proposal, rnd = propose(build, rnd, ranking, ids)
    at = build.after + dt.timedelta(days=1)
    approved, rnd = selection.approve_selection(rnd, proposal, "officer_b", at, reason="同意")
    assert (approved.status, approved.decided_by, approved.decided_at, approved.decision_reason) == \
        ("approved", "officer_b", at, "同意")
    assert rnd.state is RoundState.SELECTION_APPROVED
    with pytest.raises(Conflict) as err:
        selection.approve_selection(rnd, approved, "officer_c", at)
    assert err.value.code == "proposal_already_decided"


def test_a_rejection_needs_a_reason_keeps_it_and_reopens_the_round_for_a_new_proposal(build):
    rnd, ranking, ids = setup(build)
    proposal, rnd = propose(build, rnd, ranking, ids)
    with pytest.raises(ValidationFailed):
        selection.reject_selection(rnd, proposal, "officer_b", build.after, " ")
    rejected, rnd = selection.reject_selection(rnd, proposal, "officer_b", build.after, "边境地区项目偏少，请复核")
    assert (rejected.status, rejected.decided_by, rejected.decision_reason) == \
        ("rejected", "officer_b", "边境地区项目偏少，请复核")
    assert rnd.state is RoundState.CLOSED
    again, _ = propose(build, rnd, ranking, ids, proposer="officer_b")
    assert again.proposed_by == "officer_b"


def test_publication_emits_one_outcome_event_per_application_with_what_consumers_need(build):
    rnd, ranking, ids = setup(build)
    proposal, rnd = propose(build, rnd, ranking, ids)
    proposal, rnd = selection.approve_selection(rnd, proposal, "officer_b", build.after)
    apps = {a: build.app(a, league="150700") for a in ids}
    rnd, events = selection.publish_selection(rnd, proposal, ranking, apps, build.after)
    assert rnd.state is RoundState.PUBLISHED
    assert [e["type"] for e in events] == ["application_recommended_to_ministry"] * 2 + \
        ["application_selected"] * 10 + ["application_not_selected"] * 3
    first = events[0]["payload"]
    assert {k: first[k] for k in ("call_id", "programme", "application_id", "unit_id", "league_code", "rank",
                                  "score", "outcome")} == {
        "call_id": "c2025", "programme": "service_team", "application_id": "a00", "unit_id": "u-a00",
        "league_code": "150700", "rank": 1, "score": "90.00", "outcome": "recommended_national"}


def test_an_unapproved_or_stale_selection_is_not_published(build):
    rnd, ranking, ids = setup(build)
    proposal, rnd = propose(build, rnd, ranking, ids)
    with pytest.raises(Conflict) as err:
        selection.publish_selection(rnd, proposal, ranking, {}, build.after)
    assert err.value.code == "proposal_not_approved"
    approved, rnd = selection.approve_selection(rnd, proposal, "officer_b", build.after)
    from review.domain import rounds
    rnd, _ = rounds.remove_application(rnd, ids[-1], [], build.after, "撤回")
    with pytest.raises(Conflict) as err:
        selection.publish_selection(rnd, approved, ranking, {}, build.after)
    assert err.value.code == "selection_stale"
