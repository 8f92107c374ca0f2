"""Pure rules of the review service: rounds, assignments, rubrics and scores, ranking, selection within
caps, ministry outcomes, post-evaluation and decision records. No nameko, no sqlalchemy: every function
takes plain values (frozen dataclasses) and returns new ones, raising ``grassroots.errors`` subclasses
(English ``code``, Chinese ``message``, ``details`` listing every problem with its path). Times are
timezone-aware and passed in (``now``); the domain never reads the clock.

Modules: ``rounds`` (state machine), ``assignments`` (conflict/load checks, conflict declarations),
``rubrics`` (rubric data, score sheets), ``completion`` (progress counts), ``priority`` (priority regions
and bonus), ``ranking`` (trimmed mean, tie-breaks, explanation), ``selection`` (caps, four eyes,
publication events), ``ministry``, ``post_evaluation``, ``decisions``.

Usage:
    from review.domain import rounds, assignments, rubrics, ranking, selection, priority

    rnd = rounds.new_round("r1", call_id, "service_team", deadline, reviewers_per_application=3, load_cap=10)
    rnd = rounds.admit_application(rnd, app_id)                      # on application_submitted
    rnd = rounds.open_round(rnd, now)                                # after the deadline
    new = assignments.assign(rnd, pairs_from_experts, apps, reviewers, existing, now)   # raises if any rule breaks
    sheet = rubrics.submit_score(rnd, assignment, rubrics.load_default_rubric("service_team"),
                                 reviewer_id, {"demand_precision": "8", ...}, {}, now, previous=None)
    rnd = rounds.close_round(rnd, now)
    ranked = ranking.rank_applications(rubric, entries, rnd.k, priority.load_priority_list(), priority.BonusPolicy())
    caps = selection.caps_from_definition("service_team", call_programme_definition)
    proposal, rnd = selection.propose_selection(rnd, pid, lines, ranked, caps, proposer, now)
    proposal, rnd = selection.approve_selection(rnd, proposal, approver, now)     # approver != proposer
    rnd, events = selection.publish_selection(rnd, proposal, ranked, apps, now)   # [{"type", "payload"}]
"""
from . import (assignments, completion, decisions, facts, ministry, post_evaluation, priority, ranking, rounds,
               rubrics, selection)

__all__ = ["assignments", "completion", "decisions", "facts", "ministry", "post_evaluation", "priority",
           "ranking", "rounds", "rubrics", "selection"]
