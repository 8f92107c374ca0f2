"""Review rounds: one per programme of a call, and the state machine they go through.

    draft ──open──▶ open ──close──▶ closed ──propose──▶ selection_proposed ──approve──▶ selection_approved
                                      ▲                        │                                   │
                                      └───────reject───────────┘                               publish
                                                                                                   ▼
                                                                                               published

* Opening needs the call's deadline to have passed (逾期不报视为放弃: nothing can still arrive), unless the
  call marks the programme as rolling.
* Reviewers are assigned and score only while the round is open; scores can be revised until it closes.
* Applications enter when intake says they were submitted and leave when withdrawn or forfeited; leaving
  cancels their assignments. Entering is idempotent because events are delivered at least once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum
from typing import Iterable

from grassroots.errors import BadRequest, Conflict

from ._common import PROGRAMMES, programme_label, require_aware


class RoundState(str, Enum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    SELECTION_PROPOSED = "selection_proposed"
    SELECTION_APPROVED = "selection_approved"
    PUBLISHED = "published"


STATE_LABELS = {
    RoundState.DRAFT: "草稿",
    RoundState.OPEN: "评审中",
    RoundState.CLOSED: "评审已结束",
    RoundState.SELECTION_PROPOSED: "遴选方案待审批",
    RoundState.SELECTION_APPROVED: "遴选方案已批准",
    RoundState.PUBLISHED: "结果已公布",
}

# Every allowed move; anything else is a Conflict. Rejection of a proposal returns to closed so that a
# new proposal can be made.
TRANSITIONS = {
    (RoundState.DRAFT, RoundState.OPEN),
    (RoundState.OPEN, RoundState.CLOSED),
    (RoundState.CLOSED, RoundState.SELECTION_PROPOSED),
    (RoundState.SELECTION_PROPOSED, RoundState.CLOSED),
    (RoundState.SELECTION_PROPOSED, RoundState.SELECTION_APPROVED),
    (RoundState.SELECTION_APPROVED, RoundState.PUBLISHED),
}

DEFAULT_REVIEWERS_PER_APPLICATION = 3
DEFAULT_LOAD_CAP = 15


@dataclass(frozen=True)
class ReviewRound:
    id: str
    call_id: str
    programme: str
    deadline: dt.datetime
    rolling: bool = False
    reviewers_per_application: int = DEFAULT_REVIEWERS_PER_APPLICATION
    load_cap: int = DEFAULT_LOAD_CAP
    state: RoundState = RoundState.DRAFT
    application_ids: tuple[str, ...] = ()
    opened_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    published_at: dt.datetime | None = None

    @property
    def k(self) -> int:
        return self.reviewers_per_application

    def has_application(self, application_id: str) -> bool:
        return application_id in self.application_ids


def _check_settings(reviewers_per_application: int, load_cap: int) -> None:
    problems = []
    if not isinstance(reviewers_per_application, int) or isinstance(reviewers_per_application, bool) \
            or reviewers_per_application < 1:
        problems.append({"path": "reviewers_per_application", "code": "invalid_k",
                         "message": "每个项目的评审专家人数必须是不小于1的整数"})
    if not isinstance(load_cap, int) or isinstance(load_cap, bool) or load_cap < 1:
        problems.append({"path": "load_cap", "code": "invalid_load_cap",
                         "message": "每位专家的评审数量上限必须是不小于1的整数"})
    if problems:
        raise BadRequest("invalid_round_settings", "评审轮次设置不正确", problems)


def new_round(round_id: str, call_id: str, programme: str, deadline: dt.datetime, *, rolling: bool = False,
              reviewers_per_application: int = DEFAULT_REVIEWERS_PER_APPLICATION,
              load_cap: int = DEFAULT_LOAD_CAP) -> ReviewRound:
    if programme not in PROGRAMMES:
        raise BadRequest("unknown_programme", f"未知的项目类别：{programme}", {"programme": programme})
    require_aware(deadline, "deadline")
    _check_settings(reviewers_per_application, load_cap)
    return ReviewRound(id=round_id, call_id=call_id, programme=programme, deadline=deadline, rolling=rolling,
                       reviewers_per_application=reviewers_per_application, load_cap=load_cap)


def configure_round(rnd: ReviewRound, *, reviewers_per_application: int | None = None,
                    load_cap: int | None = None) -> ReviewRound:
    """Change k or the load cap; only before opening, so no assignment was made under other numbers."""
    if rnd.state is not RoundState.DRAFT:
        raise Conflict("round_already_open", "评审已开始，不能再修改评审专家人数或评审数量上限",
                       {"round_id": rnd.id, "state": rnd.state.value})
    k = rnd.reviewers_per_application if reviewers_per_application is None else reviewers_per_application
    cap = rnd.load_cap if load_cap is None else load_cap
    _check_settings(k, cap)
    return replace(rnd, reviewers_per_application=k, load_cap=cap)


def transition(rnd: ReviewRound, target: RoundState) -> ReviewRound:
    if (rnd.state, target) not in TRANSITIONS:
        raise Conflict("invalid_round_transition",
                       f"评审轮次当前状态为“{STATE_LABELS[rnd.state]}”，不能变更为“{STATE_LABELS[target]}”",
                       {"round_id": rnd.id, "from": rnd.state.value, "to": target.value})
    return replace(rnd, state=target)


def open_round(rnd: ReviewRound, now: dt.datetime) -> ReviewRound:
    require_aware(now, "now")
    if rnd.state is RoundState.DRAFT and not rnd.rolling and now < rnd.deadline:
        raise Conflict("round_not_open_before_deadline",
                       f"{programme_label(rnd.programme)}申报截止时间未到，截止后方可开始评审",
                       {"round_id": rnd.id, "deadline": rnd.deadline.isoformat()})
    return replace(transition(rnd, RoundState.OPEN), opened_at=now)


def close_round(rnd: ReviewRound, now: dt.datetime) -> ReviewRound:
    require_aware(now, "now")
    return replace(transition(rnd, RoundState.CLOSED), closed_at=now)


def ensure_open_for_review(rnd: ReviewRound) -> None:
    """Assigning, declaring conflicts and scoring happen only while the round is open."""
    if rnd.state is RoundState.OPEN:
        return
    if rnd.state is RoundState.DRAFT:
        raise Conflict("round_not_open", "评审尚未开始", {"round_id": rnd.id, "state": rnd.state.value})
    raise Conflict("round_closed", "评审已结束，不能再分配、回避或修改评分",
                   {"round_id": rnd.id, "state": rnd.state.value})


def admit_application(rnd: ReviewRound, application_id: str) -> ReviewRound:
    """An application was submitted: it joins the round (again-delivered events change nothing)."""
    if application_id in rnd.application_ids:
        return rnd
    if rnd.state not in (RoundState.DRAFT, RoundState.OPEN):
        raise Conflict("round_closed", "评审已结束，不能再加入申报项目",
                       {"round_id": rnd.id, "application_id": application_id, "state": rnd.state.value})
    return replace(rnd, application_ids=rnd.application_ids + (application_id,))


def remove_application(rnd: ReviewRound, application_id: str, assignments: Iterable, now: dt.datetime,
                       reason: str) -> tuple[ReviewRound, list]:
    """An application was withdrawn or forfeited: it leaves and its active assignments are cancelled.

    Returns the new round and the assignments whose status changed (for the service to store). Leaving
    after publication is refused: outcomes already went out and must be corrected explicitly.
    """
    from .assignments import cancel_assignment  # local import: assignments imports rounds

    require_aware(now, "now")
    if rnd.state is RoundState.PUBLISHED:
        raise Conflict("round_published", "评审结果已公布，不能再移出申报项目",
                       {"round_id": rnd.id, "application_id": application_id})
    changed = [cancel_assignment(a, now, reason) for a in assignments
               if a.application_id == application_id and a.status == "active"]
    if application_id not in rnd.application_ids:
        return rnd, changed
    return replace(rnd, application_ids=tuple(a for a in rnd.application_ids if a != application_id)), changed
