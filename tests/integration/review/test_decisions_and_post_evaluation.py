"""Selection proposals that break a cap or lack a reason, rejection, ministry corrections, post-evaluation
and the priority-region list officers maintain."""
import datetime as dt

import pytest

from .conftest import LEAGUES


def closed_round(rv, n_apps, k=1, programme="service_team"):
    rv.call_opened()
    for i in range(n_apps):
        rv.submit(i, LEAGUES[i % 7], programme=programme)
    rv.add_reviewer("r0", "152900")
    rv.wait_candidates(n_apps)
    rnd = rv.ok("POST", "/api/v1/review/rounds", "officer_a", json={
        "call_id": rv.call_id, "programme_code": programme, "reviewers_per_application": k,
        "close_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()})
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/open", "officer_a")
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/assign", "officer_a")
    for a in rv.ok("GET", "/api/v1/review/assignments", "r0"):
        rv.ok("PUT", f"/api/v1/review/assignments/{a['id']}/score", "r0", json={
            "scores": {c["code"]: "8" for c in a["rubric"]["criteria"]},
            "comments": {c["code"]: "良" for c in a["rubric"]["criteria"]}})
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/close", "officer_a")
    order = [r["application_id"] for r in rv.ok("GET", f"/api/v1/review/rounds/{rnd['id']}/ranking",
                                                "officer_a")["ranking"]]
    return rnd, order


def test_too_few_ministry_recommendations_are_refused_and_a_rejected_proposal_can_be_redone(rv):
    rnd, order = closed_round(rv, 4)
    one = [{"application_id": a, "outcome": "recommended_national" if i == 0 else "selected"}
           for i, a in enumerate(order)]
    r = rv.http("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", "officer_a", json={"lines": one})
    assert r.status_code == 422 and r.json()["code"] == "cap_not_met"
    missing = [{"application_id": order[0], "outcome": "selected"}]
    r = rv.http("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", "officer_a", json={"lines": missing})
    assert r.status_code == 422 and r.json()["code"] == "missing_outcome"
    good = [{"application_id": a, "outcome": "recommended_national" if i < 2 else "selected"}
            for i, a in enumerate(order)]
    p = rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", "officer_a", json={"lines": good})
    no_reason = rv.http("POST", f"/api/v1/review/proposals/{p['id']}/reject", "officer_b", json={"reason": " "})
    assert no_reason.status_code == 422
    rv.ok("POST", f"/api/v1/review/proposals/{p['id']}/reject", "officer_b", json={"reason": "请补充说明"})
    assert rv.ok("GET", f"/api/v1/review/rounds/{rnd['id']}", "officer_a")["state"] == "closed"
    publish_early = rv.http("POST", f"/api/v1/review/rounds/{rnd['id']}/publish", "officer_a")
    assert publish_early.status_code == 409 and publish_early.json()["code"] == "selection_not_approved"
    p2 = rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", "officer_b", json={"lines": good})
    rv.ok("POST", f"/api/v1/review/proposals/{p2['id']}/approve", "officer_a", json={})
    assert rv.events("application_selected") == []          # approval alone publishes nothing
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/publish", "officer_a")
    assert len(rv.events("application_selected")) == 2
    assert len(rv.events("application_recommended_to_ministry")) == 2
    # a selected application without an amount still reaches funding: the amount is set there
    assert rv.events("application_selected")[0]["payload"]["funding"] == {"amount": None, "source": "department"}


def test_a_ministry_decision_is_corrected_only_with_a_reason_and_keeps_the_previous_value(rv):
    rnd, order = closed_round(rv, 3)
    lines = [{"application_id": a, "outcome": "recommended_national" if i < 2 else "selected"}
             for i, a in enumerate(order)]
    p = rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", "officer_a", json={"lines": lines})
    rv.ok("POST", f"/api/v1/review/proposals/{p['id']}/approve", "officer_b", json={"publish": True})
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    path = f"/api/v1/review/applications/{order[0]}/ministry-decision"
    bad = rv.http("PUT", path, "officer_a", json={"approved": True, "document_ref": "12号", "decided_on": today})
    assert bad.status_code == 422 and bad.json()["details"][0]["code"] == "invalid_document_ref"
    selected_one = rv.http("PUT", f"/api/v1/review/applications/{order[2]}/ministry-decision", "officer_a",
                           json={"approved": True, "document_ref": "人社厅函〔2025〕12号", "decided_on": today})
    assert selected_one.status_code == 409 and selected_one.json()["code"] == "not_recommended"
    rv.ok("PUT", path, "officer_a", json={"approved": False, "document_ref": "人社厅函〔2025〕12号",
                                          "decided_on": today})
    fixed = rv.ok("PUT", path, "officer_b", json={"approved": True, "document_ref": "人社厅函〔2025〕15号",
                                                  "decided_on": today, "reason": "部里更正通知", "amount": "200000.00"})
    assert fixed["approved"] is True and fixed["corrections"][0]["approved"] is False
    events = [e["payload"] for e in rv.events("ministry_decided")]
    assert [e["approved"] for e in events] == [False, True]
    assert events[0]["funding"] is None and events[1]["funding"] == {"amount": "200000.00", "source": "ministry"}
    assert events[1]["correction"] is True and events[1]["previous"]["approved"] is False
    assert [e["revision"] for e in events] == [1, 2]
    outcome = rv.ok("GET", f"/api/v1/review/applications/{order[0]}/outcome", "auditor")
    assert outcome["ministry"]["document_ref"] == "人社厅函〔2025〕15号"


def test_a_filed_report_is_post_evaluated_and_the_grade_is_shown_when_the_unit_applies_again(rv):
    rv.call_opened()
    app = rv.submit(1, "150100", unit_id="unit-x")
    rv.wait_candidates(1)
    too_early = rv.http("POST", f"/api/v1/review/applications/{app}/post-evaluation", "officer_a",
                        json={"scores": {}})
    assert too_early.status_code == 409 and too_early.json()["code"] == "report_not_filed"
    rv.publish("report_filed", {"call": rv.call_summary(), "report_id": "rep-1",
                                "filed_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                                "application": {"id": app, "unit_id": "unit-x", "programme_code": "service_team",
                                                "title": "草原服务团"},
                                "recipients": {"unit_contacts": [], "user_ids": []}})
    rv.wait(lambda: rv.scalar("SELECT count(*) FROM filed_report") == 1)
    from review.domain.rubrics import load_default_rubric
    criteria = load_default_rubric("post_evaluation").criteria
    codes = [c.code for c in criteria]
    top = {c.code: str(c.scale_max) for c in criteria}
    incomplete = rv.http("POST", f"/api/v1/review/applications/{app}/post-evaluation", "officer_a",
                         json={"scores": {codes[0]: top[codes[0]]}})
    assert incomplete.status_code == 422
    result = rv.ok("POST", f"/api/v1/review/applications/{app}/post-evaluation", "officer_a",
                   json={"scores": top, "comments": {c: "好" for c in codes}})
    assert result["grade"] == "优秀"
    again = rv.http("POST", f"/api/v1/review/applications/{app}/post-evaluation", "officer_b",
                    json={"scores": top, "comments": {c: "差" for c in codes}})
    assert again.status_code == 409
    rows = rv.ok("GET", "/api/v1/review/candidates", "officer_a", params={"unit_id": "unit-x"})
    assert rows[0]["post_evaluation"]["latest"]["grade"] == "优秀"
    unit = rv.add_user("unit_x", "applicant_unit", unit_id="unit-x")
    assert unit and rv.ok("GET", "/api/v1/review/units/unit-x/post-evaluations", "unit_x")["count"] == 1


def test_officers_maintain_the_priority_list_and_bad_entries_are_refused(rv):
    current = rv.ok("GET", "/api/v1/review/priority-regions", "officer_a")
    assert current["shipped_default"] is True and current["counties"]
    bad = rv.http("PUT", "/api/v1/review/priority-regions", "officer_a",
                  json={"counties": [{"county": "", "categories": ["border"]}]})
    assert bad.status_code == 422
    new = rv.ok("PUT", "/api/v1/review/priority-regions", "officer_a", json={
        "version": "2026", "counties": [{"county": "四子王旗", "league_code": "150900",
                                         "categories": ["rural_revitalisation_key"]}]})
    assert new["shipped_default"] is False and [c["county"] for c in new["counties"]] == ["四子王旗"]
    assert rv.http("PUT", "/api/v1/review/priority-regions", "auditor", json=new).status_code == 403


@pytest.mark.parametrize("role", ["reviewer", "applicant_unit", "finance_officer"])
def test_people_outside_the_review_cannot_read_rounds_or_decisions(rv, role):
    rv.add_user("someone", role, unit_id="unit-1" if role == "applicant_unit" else None)
    assert rv.http("GET", "/api/v1/review/decisions", "someone").status_code == 403
    assert rv.http("GET", "/api/v1/review/rounds", "someone").status_code == 403


def test_a_call_sets_its_own_rubric_and_round_defaults_and_a_round_may_still_override_them(rv):
    rubric = {"name": "2026年服务团评审细则", "criteria": [
        {"code": "need", "label": "需求迫切程度", "weight": "0.6", "scale": {"min": 0, "max": 5}, "comment": "always"},
        {"code": "plan", "label": "方案可行性", "weight": "0.4", "scale": {"min": 0, "max": 5}}]}
    rv.call_opened(review={"rubrics": {"service_team": rubric}, "reviewers_per_application": 1, "load_cap": 4,
                           "bonus_policy": {"points": {"border": "5"}, "cap": "5"}})
    rv.submit(1, "150100")
    rv.wait_candidates(1)
    close_at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()
    rnd = rv.ok("POST", "/api/v1/review/rounds", "officer_a",
                json={"call_id": rv.call_id, "programme_code": "service_team", "close_at": close_at})
    assert [c["code"] for c in rnd["rubric"]["criteria"]] == ["need", "plan"]
    assert (rnd["reviewers_per_application"], rnd["load_cap"]) == (1, 4)
    assert rnd["bonus_policy"]["points"]["border"] == "5"
    base = rv.ok("POST", "/api/v1/review/rounds", "officer_a",
                 json={"call_id": rv.call_id, "programme_code": "regional_base", "close_at": close_at,
                       "reviewers_per_application": 2})
    assert base["reviewers_per_application"] == 2
    assert base["rubric"]["programme"] == "regional_base" and base["rubric"]["criteria"][0]["code"] != "need"
