"""Reviewer assignments: the checks every proposal must pass, and conflict declarations.

The experts service proposes (application_id, reviewer_id) pairs, maximising specialty fit. Whatever it
proposes, ``assign`` validates the whole set against these rules before anything is stored, and reports
every violation at once (``ValidationFailed`` code ``assignment_proposal_invalid``, details per pair):

* the round is open;
* application and reviewer are known, and the application is in the round;
* no pair twice, and no pair that is already active;
* a reviewer never reviews an application of their own unit (``own_unit``), nor of their own league/city
  (``same_league``; county-level codes count with their league, see ``same_league``), nor one they have
  declared a conflict on (``declared_conflict``);
* each application ends with at most k active reviewers, and each application asked to be covered ends
  with exactly k (``too_many_reviewers`` / ``too_few_reviewers``);
* each reviewer's active load stays within their cap (the reviewer's own cap, else the round's).

A reviewer (or an officer for them) declares a conflict on an assignment: it becomes ``conflict_declared``
with the reason kept, and ``declare_conflict`` returns a ``ReplacementRequest`` to send to the experts
service: the application and every reviewer who must not be proposed for it.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping, Sequence

from grassroots.errors import Conflict, Forbidden, ValidationFailed

from ._common import problem, require_aware, require_text, same_league
from .facts import ApplicationFacts, ReviewerFacts
from .rounds import ReviewRound, ensure_open_for_review

ACTIVE = "active"
CONFLICT_DECLARED = "conflict_declared"
CANCELLED = "cancelled"
STATUSES = (ACTIVE, CONFLICT_DECLARED, CANCELLED)


@dataclass(frozen=True)
class Assignment:
    id: str
    round_id: str
    application_id: str
    reviewer_id: str
    status: str = ACTIVE
    assigned_at: dt.datetime | None = None
    conflict_reason: str | None = None
    conflict_declared_by: str | None = None
    conflict_declared_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class ReplacementRequest:
    """What to ask the experts service for: ``count`` more reviewers for the application, none of ``excluded``."""

    round_id: str
    application_id: str
    excluded_reviewer_ids: tuple[str, ...]
    count: int = 1

    def to_dict(self) -> dict:
        return {"round_id": self.round_id, "application_id": self.application_id,
                "excluded_reviewer_ids": list(self.excluded_reviewer_ids), "count": self.count}


def _pairs(proposal: Iterable) -> list[tuple[str, str]]:
    out = []
    for item in proposal:
        if isinstance(item, Mapping):
            out.append((item["application_id"], item["reviewer_id"]))
        else:
            application_id, reviewer_id = item
            out.append((application_id, reviewer_id))
    return out


def check_assignment_proposal(rnd: ReviewRound, proposal: Iterable, applications: Mapping[str, ApplicationFacts],
                              reviewers: Mapping[str, ReviewerFacts], existing: Sequence[Assignment] = (),
                              conflicts: Iterable[tuple[str, str]] = (),
                              cover: Iterable[str] | None = None) -> list[dict]:
    """Every problem of a proposed assignment set, as ``{"path","code","message"}``; empty when it is valid.

    ``existing`` are the round's assignments (any status); ``conflicts`` are further (application_id,
    reviewer_id) pairs known to be conflicted; ``cover`` the applications that must end with exactly k
    reviewers (default: all applications of the round; pass just one id for a replacement).
    """
    pairs = _pairs(proposal)
    problems: list[dict] = []
    conflicted = {(a.application_id, a.reviewer_id) for a in existing if a.status == CONFLICT_DECLARED}
    conflicted |= {tuple(c) for c in conflicts}
    active_pairs = {(a.application_id, a.reviewer_id) for a in existing if a.status == ACTIVE}
    per_app = Counter(a.application_id for a in existing if a.status == ACTIVE)
    per_reviewer = Counter(a.reviewer_id for a in existing if a.status == ACTIVE)
    seen: set[tuple[str, str]] = set()
    for i, (app_id, reviewer_id) in enumerate(pairs):
        path = f"proposal[{i}]"
        app = applications.get(app_id)
        reviewer = reviewers.get(reviewer_id)
        if app is None or not rnd.has_application(app_id):
            problems.append(problem(path, "unknown_application", f"申报项目 {app_id} 不在本轮评审中"))
        if reviewer is None:
            problems.append(problem(path, "unknown_reviewer", f"评审专家 {reviewer_id} 不存在"))
        if (app_id, reviewer_id) in seen:
            problems.append(problem(path, "duplicate_pair", "同一专家对同一项目重复分配"))
            continue
        seen.add((app_id, reviewer_id))
        if (app_id, reviewer_id) in active_pairs:
            problems.append(problem(path, "already_assigned", "该专家已在评审此项目"))
            continue
        if (app_id, reviewer_id) in conflicted:
            problems.append(problem(path, "declared_conflict", "该专家已声明与此项目存在利益冲突，须回避"))
        if app is not None and reviewer is not None:
            if reviewer.unit_id and reviewer.unit_id == app.unit_id:
                problems.append(problem(path, "own_unit", "评审专家不得评审本单位申报的项目"))
            elif same_league(reviewer.league_code, app.league_code):
                problems.append(problem(path, "same_league", "评审专家不得评审本盟市申报的项目"))
        per_app[app_id] += 1
        per_reviewer[reviewer_id] += 1
    k = rnd.reviewers_per_application
    touched = list(dict.fromkeys(app_id for app_id, _ in pairs))
    for app_id in touched:
        if per_app[app_id] > k:
            problems.append(problem(f"applications.{app_id}", "too_many_reviewers",
                                    f"项目 {app_id} 将有 {per_app[app_id]} 位评审专家，超过规定的 {k} 位"))
    for app_id in (rnd.application_ids if cover is None else cover):
        if per_app[app_id] < k:
            problems.append(problem(f"applications.{app_id}", "too_few_reviewers",
                                    f"项目 {app_id} 只有 {per_app[app_id]} 位评审专家，应为 {k} 位"))
    for reviewer_id in dict.fromkeys(r for _, r in pairs):
        reviewer = reviewers.get(reviewer_id)
        cap = reviewer.load_cap if reviewer is not None and reviewer.load_cap is not None else rnd.load_cap
        if per_reviewer[reviewer_id] > cap:
            problems.append(problem(f"reviewers.{reviewer_id}", "load_cap_exceeded",
                                    f"专家 {reviewer_id} 将评审 {per_reviewer[reviewer_id]} 个项目，超过上限 {cap} 个"))
    return problems


def assign(rnd: ReviewRound, proposal: Iterable, applications: Mapping[str, ApplicationFacts],
           reviewers: Mapping[str, ReviewerFacts], existing: Sequence[Assignment], now: dt.datetime, *,
           conflicts: Iterable[tuple[str, str]] = (), cover: Iterable[str] | None = None,
           new_id: Callable[[], str] = lambda: uuid.uuid4().hex) -> list[Assignment]:
    """Validate a proposal and turn it into new active assignments; raise if anything is wrong."""
    ensure_open_for_review(rnd)
    require_aware(now, "now")
    pairs = _pairs(proposal)
    problems = check_assignment_proposal(rnd, pairs, applications, reviewers, existing, conflicts, cover)
    if problems:
        raise ValidationFailed("assignment_proposal_invalid",
                               f"评审专家分配方案有 {len(problems)} 处不符合回避或数量规定，未保存", problems)
    return [Assignment(id=new_id(), round_id=rnd.id, application_id=a, reviewer_id=r, assigned_at=now)
            for a, r in pairs]


def cancel_assignment(assignment: Assignment, now: dt.datetime, reason: str) -> Assignment:
    return replace(assignment, status=CANCELLED, cancelled_at=now, cancel_reason=reason)


def declare_conflict(rnd: ReviewRound, assignment: Assignment, application_assignments: Sequence[Assignment],
                     actor_id: str, actor_role: str, reason: str, now: dt.datetime
                     ) -> tuple[Assignment, ReplacementRequest]:
    """The reviewer (or a programme officer for them) declares a conflict of interest on an assignment.

    ``application_assignments`` are all assignments of the same application (any status): everybody who
    reviews it or has declared a conflict on it is excluded from the replacement.
    """
    ensure_open_for_review(rnd)
    require_aware(now, "now")
    if actor_role != "programme_officer" and actor_id != assignment.reviewer_id:
        raise Forbidden("not_your_assignment", "只能对分配给本人的评审任务声明回避",
                        {"assignment_id": assignment.id})
    if assignment.status != ACTIVE:
        raise Conflict("assignment_not_active", "该评审任务已回避或已取消",
                       {"assignment_id": assignment.id, "status": assignment.status})
    text = require_text(reason)
    if text is None:
        raise ValidationFailed("conflict_reason_required", "声明回避须说明理由",
                               [problem("reason", "required", "请填写回避理由")])
    declared = replace(assignment, status=CONFLICT_DECLARED, conflict_reason=text,
                       conflict_declared_by=actor_id, conflict_declared_at=now)
    excluded = {declared.reviewer_id}
    excluded |= {a.reviewer_id for a in application_assignments
                 if a.application_id == assignment.application_id and a.status in (ACTIVE, CONFLICT_DECLARED)}
    request = ReplacementRequest(round_id=rnd.id, application_id=assignment.application_id,
                                 excluded_reviewer_ids=tuple(sorted(excluded)))
    return declared, request


def active_pairs(assignments: Iterable[Assignment]) -> set[tuple[str, str]]:
    return {(a.application_id, a.reviewer_id) for a in assignments if a.status == ACTIVE}


def assignments_by_reviewer(assignments: Iterable[Assignment]) -> dict[str, list[Assignment]]:
    out: dict[str, list[Assignment]] = defaultdict(list)
    for a in assignments:
        out[a.reviewer_id].append(a)
    return dict(out)
