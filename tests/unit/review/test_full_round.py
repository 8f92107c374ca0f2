"""A whole service-team round through the public domain API, the way the service layer will drive it."""
import datetime as dt

from review.domain import assignments, completion, decisions, priority, ranking, rounds, rubrics, selection
from review.domain.facts import ServicePlace


def test_a_full_round_runs_from_submissions_to_published_outcomes(build):
    rubric = rubrics.load_default_rubric("service_team")
    app_ids = [f"a{i:02d}" for i in range(14)]
    leagues = ["150100", "150200", "150300", "150400", "150500", "150600", "150700"]
    apps = {a: build.app(a, league=leagues[i % 7],
                         places=(ServicePlace("额济纳旗", "152900"),) if a == "a13" else ())
            for i, a in enumerate(app_ids)}
    reviewers = {f"e{j}": build.reviewer(f"e{j}", league=("152200" if j % 2 else "152500"), cap=20)
                 for j in range(4)}
    rnd = rounds.new_round("r1", "c2025", "service_team", build.deadline, reviewers_per_application=3, load_cap=20)
    for a in app_ids:
        rnd = rounds.admit_application(rnd, a)
    rnd = rounds.open_round(rnd, build.after)
    pairs = [(a, f"e{j}") for a in app_ids for j in range(3)]
    made = assignments.assign(rnd, pairs, apps, reviewers, [], build.after)
    # e2 declares a conflict on a00 and e3 replaces them
    target = next(x for x in made if x.application_id == "a00" and x.reviewer_id == "e2")
    declared, request = assignments.declare_conflict(rnd, target, made, "e2", "reviewer", "曾参与方案编写", build.after)
    made = [declared if x.id == target.id else x for x in made]
    made += assignments.assign(rnd, [(request.application_id, "e3")], apps, reviewers, made, build.after,
                               cover=[request.application_id])
    sheets = []
    for x in made:
        if x.status != "active":
            continue
        value = 9 if x.application_id == "a13" else str(10 - int(x.application_id[1:]) % 10 * 0.4)
        scores = {c.code: value for c in rubric.criteria}
        sheets.append(rubrics.submit_score(rnd, x, rubric, x.reviewer_id, scores, {}, build.after))
    progress = completion.application_progress(rnd.application_ids, rnd.k, made, sheets)
    assert all(p.complete for p in progress.values())
    rnd = rounds.close_round(rnd, build.after + dt.timedelta(days=7))
    entries = [ranking.RankingEntry(a, [s for s in ranking.sheets_for_ranking(made, sheets) if s.application_id == a],
                                    apps[a].submitted_at, apps[a].service_places) for a in rnd.application_ids]
    ranked = ranking.rank_applications(rubric, entries, rnd.k, priority.load_priority_list(), priority.BonusPolicy())
    order = [r.application_id for r in ranked]
    # a13 scores 90 and serves 额济纳旗 (border, +3): 93 puts it ahead of a02/a12 at 92
    assert order[:7] == ["a00", "a10", "a01", "a11", "a13", "a02", "a12"]
    assert ranked[4].explain()["bonus"]["category"] == "border"
    lines = [{"application_id": a, "outcome": "recommended_national" if i < 2 else "selected" if i < 12
              else "not_selected"} for i, a in enumerate(order)]
    caps = selection.caps_from_definition("service_team", None)
    proposal, rnd = selection.propose_selection(rnd, "p1", lines, ranked, caps, "officer_a", build.after)
    proposal, rnd = selection.approve_selection(rnd, proposal, "officer_b", build.after)
    rnd, events = selection.publish_selection(rnd, proposal, ranked, apps, build.after)
    assert len(events) == 14 and rnd.state is rounds.RoundState.PUBLISHED
    record = decisions.decision_record("publish", actor_id="officer_b", actor_role="programme_officer",
                                       at=build.after, subject_type="round", subject_id=rnd.id,
                                       what={"events": len(events)})
    assert record.to_dict()["label"] == "公布评审结果"
