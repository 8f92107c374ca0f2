"""Selection within caps, four-eyes approval, and publication of outcomes.

Outcomes: every application of the round gets exactly one of

* ``selected`` — 确定为自治区项目 / 设立为自治区级基地 / 纳入自治区重点联系专家库;
* ``recommended_national`` — 推荐申报人力资源社会保障部项目 / 国家级基地 / 部级专家库 / 赤子计划 / 博士后服务团;
* ``not_selected``.

Reading of the 2025 notice for service teams ("择优推荐2—3个项目申请人力资源社会保障部专家服务团项目，遴选10个
项目确定为自治区专家服务团项目"): two disjoint groups. The best 2-3 go to the ministry (funded by it if
approved) and 10 further projects become regional projects (funded by the department); a project is in
one group only, which is also why each application carries exactly one outcome. A ministry refusal does not
move a project into the regional ten by itself: that would be a new decision by officers.

Caps come from the call's programme definition (``caps_from_definition``); ``DEFAULT_CAPS`` holds the 2025
figures. A range "2—3" means at least 2 and at most 3. Minimums apply "when there are enough candidates":
the candidates are the complete-ranked applications; ministry recommendations take the best of them
first, so the effective minimum of ``selected`` is min(cap, candidates left after the recommendations).

Validation reports every problem (details, each with path and code); the error's own code is that of the
first problem in this order: round coverage (unknown_application, duplicate_outcome, invalid_outcome,
missing_outcome), outcome_not_available, incomplete_without_reason, cap_exceeded, cap_not_met.

Four eyes: a proposal is approved by a programme officer other than its proposer
(``four_eyes_violation``), checked here in the domain so that calling the service directly cannot skip it.
A proposal can be rejected by any officer with a reason (for its proposer that is a withdrawal); the
round then returns to ``closed`` for a new proposal.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from grassroots.errors import BadRequest, Conflict, Forbidden, ValidationFailed

from ._common import problem, programme_label, require_aware, require_text
from .facts import ApplicationFacts
from .ranking import RankedApplication
from .rounds import ReviewRound, RoundState, transition

SELECTED = "selected"
RECOMMENDED_NATIONAL = "recommended_national"
NOT_SELECTED = "not_selected"
OUTCOMES = (SELECTED, RECOMMENDED_NATIONAL, NOT_SELECTED)
OUTCOME_LABELS = {SELECTED: "入选", RECOMMENDED_NATIONAL: "推荐至人力资源社会保障部", NOT_SELECTED: "未入选"}
EVENT_TYPES = {SELECTED: "application_selected", RECOMMENDED_NATIONAL: "application_recommended_to_ministry",
               NOT_SELECTED: "application_not_selected"}

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"


@dataclass(frozen=True)
class CapRange:
    """How many applications may get an outcome: ``min``..``max``; ``max`` None means no limit."""

    min: int = 0
    max: int | None = None

    @property
    def available(self) -> bool:
        return self.max is None or self.max > 0

    def text(self) -> str:
        if self.max is None:
            return f"不少于{self.min}个" if self.min else "不限"
        return f"{self.min}个" if self.min == self.max else f"{self.min}—{self.max}个"

    def to_dict(self) -> dict:
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True)
class ProgrammeCaps:
    selected: CapRange
    recommended_national: CapRange

    def for_outcome(self, outcome: str) -> CapRange:
        return self.selected if outcome == SELECTED else self.recommended_national


NOT_AVAILABLE = CapRange(0, 0)
UNLIMITED = CapRange(0, None)

# 2025 notice figures. key_expert / chizi / postdoc_hosting: the department recommends "择优" without a figure.
DEFAULT_CAPS: dict[str, ProgrammeCaps] = {
    "service_team": ProgrammeCaps(selected=CapRange(10, 10), recommended_national=CapRange(2, 3)),
    "regional_base": ProgrammeCaps(selected=CapRange(5, 5), recommended_national=NOT_AVAILABLE),
    "national_base": ProgrammeCaps(selected=NOT_AVAILABLE, recommended_national=CapRange(1, 2)),
    "key_expert": ProgrammeCaps(selected=UNLIMITED, recommended_national=UNLIMITED),
    "chizi": ProgrammeCaps(selected=NOT_AVAILABLE, recommended_national=UNLIMITED),
    "postdoc_hosting": ProgrammeCaps(selected=NOT_AVAILABLE, recommended_national=UNLIMITED),
}


def _cap_from(value: Any, path: str, problems: list) -> CapRange | None:
    if value is None:
        return UNLIMITED
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"min": value, "max": value}
    if not isinstance(value, Mapping):
        problems.append(problem(path, "invalid_cap", "名额须为整数或 {min, max}"))
        return None
    lo, hi = value.get("min", 0), value.get("max")
    if not isinstance(lo, int) or isinstance(lo, bool) or lo < 0 or \
            (hi is not None and (not isinstance(hi, int) or isinstance(hi, bool) or hi < lo)):
        problems.append(problem(path, "invalid_cap", "名额须满足 0 ≤ 最少 ≤ 最多"))
        return None
    return CapRange(lo, hi)


def caps_from_definition(programme: str, definition: Mapping[str, Any] | None) -> ProgrammeCaps:
    """Caps of a programme from the call's programme definition ``{"caps": {"selected": .., "recommended_national": ..}}``.

    Each cap is an int (exactly n), ``{"min": a, "max": b}`` (``max`` null = no limit) or null (no limit).
    A cap the definition doesn't mention falls back to ``DEFAULT_CAPS``.
    """
    default = DEFAULT_CAPS.get(programme, ProgrammeCaps(UNLIMITED, UNLIMITED))
    caps = (definition or {}).get("caps")
    if not caps:
        return default
    problems: list[dict] = []
    selected = _cap_from(caps["selected"], "caps.selected", problems) if "selected" in caps else default.selected
    national = _cap_from(caps["recommended_national"], "caps.recommended_national", problems) \
        if "recommended_national" in caps else default.recommended_national
    if problems:
        raise ValidationFailed("caps_invalid", "遴选名额设置不正确", problems)
    return ProgrammeCaps(selected=selected, recommended_national=national)


@dataclass(frozen=True)
class OutcomeLine:
    application_id: str
    outcome: str
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"application_id": self.application_id, "outcome": self.outcome, "reason": self.reason}


@dataclass(frozen=True)
class SelectionProposal:
    id: str
    round_id: str
    lines: tuple[OutcomeLine, ...]
    proposed_by: str
    proposed_at: dt.datetime
    note: str | None = None
    status: str = PENDING
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_reason: str | None = None

    def outcome_of(self, application_id: str) -> OutcomeLine | None:
        for line in self.lines:
            if line.application_id == application_id:
                return line
        return None

    def to_dict(self) -> dict:
        return {"id": self.id, "round_id": self.round_id, "lines": [x.to_dict() for x in self.lines],
                "proposed_by": self.proposed_by, "proposed_at": self.proposed_at.isoformat(), "note": self.note,
                "status": self.status, "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None,
                "decision_reason": self.decision_reason}


def _lines(raw: Iterable) -> list[OutcomeLine]:
    out = []
    for item in raw:
        if isinstance(item, OutcomeLine):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(OutcomeLine(item.get("application_id"), item.get("outcome"), require_text(item.get("reason"))))
        else:
            app_id, outcome, *rest = item
            out.append(OutcomeLine(app_id, outcome, require_text(rest[0]) if rest else None))
    return out


def selection_problems(rnd: ReviewRound, lines: Iterable, ranking: Sequence[RankedApplication],
                       caps: ProgrammeCaps) -> list[dict]:
    """Every problem of a proposed selection, in the order documented in the module docstring."""
    lines = _lines(lines)
    ranked = {r.application_id: r for r in ranking}
    coverage, availability, incomplete, exceeded, not_met = [], [], [], [], []
    seen: set[str] = set()
    valid: list[OutcomeLine] = []
    for i, line in enumerate(lines):
        path = f"lines[{i}]"
        if not rnd.has_application(line.application_id):
            coverage.append(problem(path, "unknown_application", f"申报项目 {line.application_id} 不在本轮评审中"))
            continue
        if line.application_id in seen:
            coverage.append(problem(path, "duplicate_outcome", f"申报项目 {line.application_id} 有多个遴选结果"))
            continue
        seen.add(line.application_id)
        if line.outcome not in OUTCOMES:
            coverage.append(problem(f"{path}.outcome", "invalid_outcome",
                                    "遴选结果须为 selected、recommended_national 或 not_selected"))
            continue
        valid.append(line)
        if line.outcome == NOT_SELECTED:
            continue
        if not caps.for_outcome(line.outcome).available:
            availability.append(problem(f"{path}.outcome", "outcome_not_available",
                                        f"该项目类别没有“{OUTCOME_LABELS[line.outcome]}”这一结果"))
        r = ranked.get(line.application_id)
        if (r is None or not r.complete) and not line.reason:
            incomplete.append(problem(f"{path}.reason", "incomplete_without_reason",
                                      f"申报项目 {line.application_id} 评分不完整，入选或推荐须说明理由"))
    for app_id in rnd.application_ids:
        if app_id not in seen:
            coverage.append(problem(f"applications.{app_id}", "missing_outcome",
                                    f"申报项目 {app_id} 没有遴选结果"))
    counts = {o: sum(1 for x in valid if x.outcome == o) for o in OUTCOMES}
    candidates = sum(1 for app_id in rnd.application_ids if app_id in ranked and ranked[app_id].complete)
    complete_recommended = sum(1 for x in valid if x.outcome == RECOMMENDED_NATIONAL
                               and x.application_id in ranked and ranked[x.application_id].complete)
    left_for_selected = max(0, candidates - complete_recommended)
    for outcome, pool in ((RECOMMENDED_NATIONAL, candidates), (SELECTED, left_for_selected)):
        cap = caps.for_outcome(outcome)
        if not cap.available:
            continue
        label = OUTCOME_LABELS[outcome]
        if cap.max is not None and counts[outcome] > cap.max:
            exceeded.append(problem(f"caps.{outcome}", "cap_exceeded",
                                    f"“{label}”{counts[outcome]}个，超过名额（{cap.text()}）"))
        needed = min(cap.min, pool)
        if counts[outcome] < needed:
            not_met.append(problem(f"caps.{outcome}", "cap_not_met",
                                   f"“{label}”只有{counts[outcome]}个，应不少于{needed}个（名额{cap.text()}）"))
    return coverage + availability + incomplete + exceeded + not_met


def validate_selection(rnd: ReviewRound, lines: Iterable, ranking: Sequence[RankedApplication],
                       caps: ProgrammeCaps) -> None:
    problems = selection_problems(rnd, lines, ranking, caps)
    if problems:
        raise ValidationFailed(problems[0]["code"], f"遴选方案有 {len(problems)} 处不符合规定：{problems[0]['message']}",
                               problems)


def propose_selection(rnd: ReviewRound, proposal_id: str, lines: Iterable, ranking: Sequence[RankedApplication],
                      caps: ProgrammeCaps, proposer: str, now: dt.datetime, note: str | None = None
                      ) -> tuple[SelectionProposal, ReviewRound]:
    """A programme officer proposes outcomes for the whole round (after it closed)."""
    require_aware(now, "now")
    if rnd.state is not RoundState.CLOSED:
        raise Conflict("round_not_closed", "评审结束后才能提出遴选方案（若已有待审批方案，请先审批或退回）",
                       {"round_id": rnd.id, "state": rnd.state.value})
    if not require_text(proposer):
        raise BadRequest("actor_required", "须注明提出人")
    lines = _lines(lines)
    validate_selection(rnd, lines, ranking, caps)
    proposal = SelectionProposal(id=proposal_id, round_id=rnd.id, lines=tuple(lines), proposed_by=proposer,
                                 proposed_at=now, note=require_text(note))
    return proposal, transition(rnd, RoundState.SELECTION_PROPOSED)


def _ensure_pending(rnd: ReviewRound, proposal: SelectionProposal) -> None:
    if proposal.round_id != rnd.id:
        raise Conflict("proposal_round_mismatch", "遴选方案不属于该评审轮次",
                       {"round_id": rnd.id, "proposal_id": proposal.id})
    if proposal.status != PENDING:
        raise Conflict("proposal_already_decided", "该遴选方案已审批或已退回",
                       {"proposal_id": proposal.id, "status": proposal.status})


def approve_selection(rnd: ReviewRound, proposal: SelectionProposal, approver: str, now: dt.datetime,
                      reason: str | None = None) -> tuple[SelectionProposal, ReviewRound]:
    """A second officer approves. The proposer can never approve their own proposal."""
    require_aware(now, "now")
    if not require_text(approver):
        raise BadRequest("actor_required", "须注明审批人")
    if approver.strip() == proposal.proposed_by.strip():
        raise Forbidden("four_eyes_violation", "遴选方案须由提出人以外的另一位处室人员审批，提出人不能审批自己的方案",
                        {"proposal_id": proposal.id, "proposed_by": proposal.proposed_by})
    _ensure_pending(rnd, proposal)
    approved = replace(proposal, status=APPROVED, decided_by=approver, decided_at=now,
                       decision_reason=require_text(reason))
    return approved, transition(rnd, RoundState.SELECTION_APPROVED)


def reject_selection(rnd: ReviewRound, proposal: SelectionProposal, actor: str, now: dt.datetime, reason: str
                     ) -> tuple[SelectionProposal, ReviewRound]:
    """Send a proposal back with a reason; the round returns to ``closed`` for a new proposal."""
    require_aware(now, "now")
    if not require_text(actor):
        raise BadRequest("actor_required", "须注明退回人")
    text = require_text(reason)
    if text is None:
        raise ValidationFailed("reason_required", "退回遴选方案须说明理由",
                               [problem("reason", "required", "请填写退回理由")])
    _ensure_pending(rnd, proposal)
    rejected = replace(proposal, status=REJECTED, decided_by=actor, decided_at=now, decision_reason=text)
    return rejected, transition(rnd, RoundState.CLOSED)


def publish_selection(rnd: ReviewRound, proposal: SelectionProposal, ranking: Sequence[RankedApplication],
                      applications: Mapping[str, ApplicationFacts], now: dt.datetime
                      ) -> tuple[ReviewRound, list[dict]]:
    """Publish an approved selection: the round becomes ``published`` and one event per application.

    Events are ``{"type": ..., "payload": ...}``; the payload carries call, round, programme, application,
    unit, league/city, rank, scores, outcome and who approved, so consumers need not call back.
    """
    require_aware(now, "now")
    if proposal.status != APPROVED or proposal.round_id != rnd.id:
        raise Conflict("proposal_not_approved", "只有已批准的遴选方案才能公布",
                       {"proposal_id": proposal.id, "status": proposal.status})
    covered = {x.application_id for x in proposal.lines}
    if covered != set(rnd.application_ids):
        raise Conflict("selection_stale", "遴选方案批准后申报项目有变化（如撤回），请退回后重新提出方案",
                       {"missing": sorted(set(rnd.application_ids) - covered),
                        "gone": sorted(covered - set(rnd.application_ids))})
    published = replace(transition(rnd, RoundState.PUBLISHED), published_at=now)
    ranked = {r.application_id: r for r in ranking}
    events = []
    order = {app_id: i for i, app_id in enumerate(rnd.application_ids)}
    for line in sorted(proposal.lines, key=lambda x: (ranked[x.application_id].rank if x.application_id in ranked
                                                      else len(order) + order[x.application_id])):
        r = ranked.get(line.application_id)
        facts = applications.get(line.application_id)
        events.append({"type": EVENT_TYPES[line.outcome], "payload": {
            "call_id": rnd.call_id, "round_id": rnd.id, "programme": rnd.programme,
            "programme_label": programme_label(rnd.programme),
            "application_id": line.application_id,
            "title": facts.title if facts else "",
            "unit_id": facts.unit_id if facts else None,
            "league_code": facts.league_code if facts else None,
            "rank": r.rank if r else None,
            "score": str(r.final_score) if r and r.final_score is not None else None,
            "base_score": str(r.base_score) if r and r.base_score is not None else None,
            "bonus": str(r.bonus.points) if r else "0",
            "complete": r.complete if r else False,
            "outcome": line.outcome, "outcome_label": OUTCOME_LABELS[line.outcome], "reason": line.reason,
            "proposal_id": proposal.id, "approved_by": proposal.decided_by,
            "published_at": now.isoformat(),
        }})
    return published, events

