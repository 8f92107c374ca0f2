"""A full review round through the gateway: applications arrive by intake's events, reviewers are assigned
from the experts service without conflicts, score, the ranking adds the priority-region bonus, a selection
within the caps is proposed by one officer and approved by another, and the outcome events carry what
funding and notify need."""
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy.orm import Session

from grassroots.context import Actor
from grassroots.db import UnitOfWork
from grassroots.errors import Forbidden, ValidationFailed
from review import usecases as uc

from .conftest import LEAGUES, FakeExperts

def scores_for(rubric, value):
    return {c["code"]: value for c in rubric["criteria"]}


def comments_for(rubric):
    return {c["code"]: "评语" for c in rubric["criteria"]}


@pytest.fixture
def round_with_reviews(rv):
    """13 service-team applications from 7 leagues (one serving 额济纳旗, a border banner), 6 reviewers."""
    rv.call_opened()
    apps = []
    for i in range(13):
        league = "152900" if i == 12 else LEAGUES[i % 7]     # 额济纳旗 is in Alxa (152900)
        places = ("额济纳旗",) if i == 12 else ()
        apps.append(rv.submit(i, league, places=places))
    for j, league in enumerate(["150100", "150200", "150300", "152900", "152500", "152200"]):
        rv.add_reviewer(f"r{j}", league, cap=8)
    rv.wait_candidates(13)
    rnd = rv.ok("POST", "/api/v1/review/rounds", "officer_a", json={
        "call_id": rv.call_id, "programme_code": "service_team", "reviewers_per_application": 3, "load_cap": 8,
        "close_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()})
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/open", "officer_a")
    return rnd, apps


def test_a_full_round_runs_from_events_to_published_outcomes(rv, round_with_reviews):
    rnd, apps = round_with_reviews
    assigned = rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/assign", "officer_a")
    assert assigned["unmet"] == [] and len(assigned["assigned"]) == 13 * 3

    rows = rv.ok("GET", "/api/v1/review/assignments", "auditor", params={"round_id": rnd["id"]})
    reviewers = {f"x-r{j}": league for j, league in
                 enumerate(["150100", "150200", "150300", "152900", "152500", "152200"])}
    per_app = Counter(a["application_id"] for a in rows)
    per_reviewer = Counter(a["reviewer_id"] for a in rows)
    assert set(per_app.values()) == {3} and max(per_reviewer.values()) <= 8
    league_of_app = {a: "152900" if i == 12 else LEAGUES[i % 7] for i, a in enumerate(apps)}
    assert all(reviewers[a["reviewer_id"]] != league_of_app[a["application_id"]] for a in rows), "same league"
    assert len(rv.events("reviewer_assigned")) == 39

    # a reviewer declares a conflict: replaced automatically, the declaration kept
    mine = rv.ok("GET", "/api/v1/review/assignments", "r0")
    assert mine and all(a["reviewer_id"] == "x-r0" for a in mine)
    first = mine[0]
    declared = rv.ok("POST", f"/api/v1/review/assignments/{first['id']}/conflict", "r0",
                     json={"reason": "曾参与该项目方案编写"})
    assert declared["assignment"]["status"] == "conflict_declared"
    assert len(declared["replacement"]["assigned"]) == 1
    replacement = declared["replacement"]["assigned"][0]
    assert replacement["reviewer_id"] != "x-r0" and replacement["application_id"] == first["application_id"]
    kept = rv.ok("GET", "/api/v1/review/assignments", "auditor",
                 params={"application_id": first["application_id"], "status": "conflict_declared"})
    assert kept[0]["conflict_reason"] == "曾参与该项目方案编写"

    # reviewers see and score only their own assignments
    other = next(a for a in rows if a["reviewer_id"] == "x-r1")
    refused = rv.http("PUT", f"/api/v1/review/assignments/{other['id']}/score", "r0",
                      json={"scores": scores_for(first["rubric"], "8")})
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_assignment"

    for j in range(6):
        for a in rv.ok("GET", "/api/v1/review/assignments", f"r{j}"):
            n = int(a["application"]["title"].rsplit("团", 1)[1])
            value = str(10 - (n % 10) * 0.5) if n != 12 else "9.5"
            body = {"scores": scores_for(a["rubric"], value), "comments": comments_for(a["rubric"])}
            rv.ok("PUT", f"/api/v1/review/assignments/{a['id']}/score", f"r{j}", json=body)
    # a revision before the round closes is kept as revision 2
    a = rv.ok("GET", "/api/v1/review/assignments", "r1")[0]
    again = rv.ok("PUT", f"/api/v1/review/assignments/{a['id']}/score", "r1",
                  json={"scores": scores_for(a["rubric"], a["sheet"]["scores"][a["rubric"]["criteria"][0]["code"]]),
                        "comments": comments_for(a["rubric"])})
    assert again["revision"] == 2
    progress = rv.ok("GET", f"/api/v1/review/rounds/{rnd['id']}/progress", "officer_a")
    assert all(p["complete"] for p in progress["applications"])

    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/close", "officer_a")
    late = rv.http("PUT", f"/api/v1/review/assignments/{a['id']}/score", "r1",
                   json={"scores": scores_for(a["rubric"], "1"), "comments": comments_for(a["rubric"])})
    assert late.status_code == 409 and late.json()["code"] == "round_closed"

    ranking = rv.ok("GET", f"/api/v1/review/rounds/{rnd['id']}/ranking", "officer_a")["ranking"]
    border = next(r for r in ranking if r["application_id"] == apps[12])
    assert border["bonus"]["category"] == "border" and border["bonus"]["points"] == "3"
    assert border["final_score"] == f"{float(border['base_score']) + 3:.2f}"
    order = [r["application_id"] for r in ranking]

    # caps: eleven regional selections are refused, with every problem listed
    too_many = [{"application_id": x, "outcome": "recommended_national" if i < 2 else
                 "selected" if i < 13 else "not_selected"} for i, x in enumerate(order)]
    r = rv.http("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", "officer_a", json={"lines": too_many})
    assert r.status_code == 422 and r.json()["code"] == "cap_exceeded"
    lines = [{"application_id": x, "outcome": "recommended_national" if i < 2 else
              "selected" if i < 12 else "not_selected"} for i, x in enumerate(order)]
    for line in lines:
        if line["outcome"] == "selected":
            line["amount"] = "150000.00"
    proposal = rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", "officer_a",
                     json={"lines": lines, "note": "按排名确定"})

    # four eyes: the proposer can approve neither through the gateway nor by calling the service directly
    own = rv.http("POST", f"/api/v1/review/proposals/{proposal['id']}/approve", "officer_a", json={})
    assert own.status_code == 403 and own.json()["code"] == "four_eyes_violation"
    with pytest.raises(Forbidden) as exc:
        rv.rpc(rv.users["officer_a"], "approve_selection", proposal["id"], "自己批准")
    assert exc.value.code == "four_eyes_violation"
    approved = rv.ok("POST", f"/api/v1/review/proposals/{proposal['id']}/approve", "officer_b",
                     json={"reason": "同意", "publish": True})
    assert approved["status"] == "approved" and approved["round"]["state"] == "published"

    selected = rv.events("application_selected")
    national = rv.events("application_recommended_to_ministry")
    assert len(selected) == 10 and len(national) == 2 and len(rv.events("application_not_selected")) == 1
    ev = selected[0]["payload"]
    assert ev["funding"] == {"amount": "150000.00", "source": "department"}
    assert ev["application"]["form"]["interbank_code"] == "104191000013"
    assert ev["call"]["contacts"][0]["phone"] and ev["recipients"]["unit_contacts"]
    assert ev["selection"]["key"] == "regional" and ev["decision"]["approved_by"] == rv.users["officer_b"]["id"]
    assert national[0]["payload"]["funding"] is None

    # the ministry approves one national recommendation; funding reacts to ministry_decided
    rec = national[0]["payload"]["application"]["id"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    rv.ok("PUT", f"/api/v1/review/applications/{rec}/ministry-decision", "officer_a",
          json={"approved": True, "document_ref": "人社厅函〔2025〕12号", "decided_on": today, "amount": "300000.00"})
    decided = rv.events("ministry_decided")[0]["payload"]
    assert decided["approved"] is True and decided["funding"] == {"amount": "300000.00", "source": "ministry"}
    again = rv.http("PUT", f"/api/v1/review/applications/{rec}/ministry-decision", "officer_a",
                    json={"approved": False, "document_ref": "人社厅函〔2025〕13号", "decided_on": today})
    assert again.status_code == 409 and again.json()["code"] == "ministry_decision_already_recorded"

    # every decision keeps who, when and why
    log = rv.ok("GET", "/api/v1/review/decisions", "auditor", params={"round_id": rnd["id"]})
    kinds = Counter(d["kind"] for d in log)
    assert kinds["propose_selection"] == 1 and kinds["approve_selection"] == 1 and kinds["publish"] == 1
    conflict = next(d for d in log if d["kind"] == "declare_conflict")
    assert conflict["why"] == "曾参与该项目方案编写" and conflict["actor_id"] == rv.users["r0"]["id"]


def test_units_see_their_own_outcome_only_after_publication_and_never_others(rv):
    rv.call_opened()
    unit_a = rv.add_user("unit_a", "applicant_unit", unit_id="unit-150100")
    rv.add_user("unit_b", "applicant_unit", unit_id="unit-150200")
    mine = rv.submit(1, "150100", creator=unit_a["id"])
    rv.submit(2, "150200")
    rv.wait_candidates(2)
    before = rv.ok("GET", f"/api/v1/review/applications/{mine}/outcome", "unit_a")
    assert before["published"] is False and "outcome" not in before
    other = rv.http("GET", f"/api/v1/review/applications/{mine}/outcome", "unit_b")
    assert other.status_code == 403
    assert rv.http("GET", "/api/v1/review/rounds", "unit_a").status_code == 403
    assert rv.http("GET", "/api/v1/review/candidates", "unit_a").status_code == 403


def test_a_round_cannot_open_before_the_deadline_unless_the_programme_is_rolling(rv):
    rv.call_opened(deadline_hours_ago=-24)
    rv.submit(1, "150100")
    rv.wait_candidates(1)
    close_at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()
    rnd = rv.ok("POST", "/api/v1/review/rounds", "officer_a",
                json={"call_id": rv.call_id, "programme_code": "service_team", "close_at": close_at})
    r = rv.http("POST", f"/api/v1/review/rounds/{rnd['id']}/open", "officer_a")
    assert r.status_code == 409 and r.json()["code"] == "round_not_open_before_deadline"
    dup = rv.http("POST", "/api/v1/review/rounds", "officer_a",
                  json={"call_id": rv.call_id, "programme_code": "service_team", "close_at": close_at})
    assert dup.status_code == 409 and dup.json()["code"] == "round_exists"


def test_a_withdrawn_application_leaves_the_round_and_its_assignments_are_cancelled(rv):
    rv.call_opened()
    apps = [rv.submit(i, LEAGUES[i]) for i in range(3)]
    for j, league in enumerate(["152900", "152500", "152200"]):
        rv.add_reviewer(f"r{j}", league)
    rv.wait_candidates(3)
    rnd = rv.ok("POST", "/api/v1/review/rounds", "officer_a", json={
        "call_id": rv.call_id, "programme_code": "service_team",
        "close_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()})
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/open", "officer_a")
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/assign", "officer_a")
    rv.publish("application_withdrawn", {"call": rv.call_summary(), "application": {"id": apps[0]},
                                         "recipients": {"unit_contacts": [], "user_ids": []}})
    rv.wait(lambda: rv.scalar("SELECT status FROM candidate WHERE application_id = :a", a=apps[0]) == "withdrawn")
    gone = rv.ok("GET", "/api/v1/review/assignments", "auditor", params={"application_id": apps[0]})
    assert gone and all(a["status"] == "cancelled" for a in gone)
    assert rv.ok("GET", f"/api/v1/review/rounds/{rnd['id']}", "auditor")["applications"] == 2


def test_a_reviewer_never_gets_an_application_of_their_own_unit_or_league(rv):
    """Whatever the experts service proposes, review refuses a same-league pair before storing anything."""
    rv.call_opened()
    app = rv.submit(1, "150100")
    rv.add_reviewer("r0", "150100")           # same league: the proposal must not use them
    rv.add_reviewer("r1", "150200")
    rv.wait_candidates(1)
    rnd = rv.ok("POST", "/api/v1/review/rounds", "officer_a", json={
        "call_id": rv.call_id, "programme_code": "service_team", "reviewers_per_application": 1,
        "close_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()})
    rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/open", "officer_a")
    # a broken proposal (same league) sent straight to the use case is refused with the rule's code
    bad = {"matches": [{"application_id": app, "expert_id": "x-r0", "fit": 1.0, "explanation": {},
                        "reviewer": {"expert_id": "x-r0", "user_id": "u0", "name": "r0", "unit_id": "u-r0",
                                     "league_city_code": "150100"}}], "unmet": []}
    with Session(rv.engine) as s:
        with pytest.raises(ValidationFailed) as exc:
            uc.assign_from_proposal(UnitOfWork(s, "review", None, None, {}), Actor.system(), rnd["id"], bad, dt.datetime.now(dt.timezone.utc))
        assert exc.value.details[0]["code"] == "same_league"
        s.rollback()
    done = rv.ok("POST", f"/api/v1/review/rounds/{rnd['id']}/assign", "officer_a")
    assert [a["reviewer_id"] for a in done["assigned"]] == ["x-r1"]
    assert FakeExperts.calls[-1]["load_cap"] == 15
