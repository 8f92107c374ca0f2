"""The ministry's decision (人力资源社会保障部) on each national recommendation, recorded by officers.

* Only applications whose published outcome is ``recommended_national`` can get a ministry decision.
* A decision is recorded once. Changing it is a correction, which needs a reason and keeps the previous
  value in ``corrections`` (who, when, why, what it was).
* It carries the ministry's document reference (文号) such as 人社厅函〔2025〕12号 and the date of the
  decision (Asia/Shanghai calendar date, not in the future).
* Recording and correcting both produce the event ``ministry_decided`` (funding reacts to it; a correction
  says so in ``correction`` and carries the previous decision).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from grassroots.errors import Conflict, ValidationFailed

from ._common import problem, programme_label, require_aware, require_text
from .facts import ApplicationFacts
from .rounds import ReviewRound, RoundState
from .selection import RECOMMENDED_NATIONAL, SelectionProposal

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 发文机关代字 + 〔年份〕 + 序号 + 号; full-width, square or round brackets are all seen in practice.
DOCUMENT_REF_RE = re.compile(r"^\S+[〔\[［(（]\d{4}[〕\]］)）]\d+号$")


@dataclass(frozen=True)
class MinistryDecision:
    round_id: str
    application_id: str
    approved: bool
    document_ref: str
    decided_on: dt.date
    recorded_by: str
    recorded_at: dt.datetime
    corrections: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {"round_id": self.round_id, "application_id": self.application_id, "approved": self.approved,
                "document_ref": self.document_ref, "decided_on": self.decided_on.isoformat(),
                "recorded_by": self.recorded_by, "recorded_at": self.recorded_at.isoformat(),
                "corrections": list(self.corrections)}


def _check(approved, document_ref, decided_on, now) -> str:
    problems = []
    if not isinstance(approved, bool):
        problems.append(problem("approved", "required", "请选择人力资源社会保障部是否批准"))
    ref = require_text(document_ref)
    if ref is None:
        problems.append(problem("document_ref", "required", "请填写人力资源社会保障部文件文号"))
    elif not DOCUMENT_REF_RE.match(ref):
        problems.append(problem("document_ref", "invalid_document_ref", "文号格式应如“人社厅函〔2025〕12号”"))
    if not isinstance(decided_on, dt.date) or isinstance(decided_on, dt.datetime):
        problems.append(problem("decided_on", "required", "请填写决定日期"))
    elif decided_on > now.astimezone(SHANGHAI).date():
        problems.append(problem("decided_on", "in_future", "决定日期不能晚于今天"))
    if problems:
        raise ValidationFailed("ministry_decision_invalid", "人力资源社会保障部决定信息不完整或不正确", problems)
    return ref


def _event(rnd: ReviewRound, decision: MinistryDecision, facts: ApplicationFacts | None,
           previous: MinistryDecision | None, reason: str | None) -> dict:
    return {"type": "ministry_decided", "payload": {
        "call_id": rnd.call_id, "round_id": rnd.id, "programme": rnd.programme,
        "programme_label": programme_label(rnd.programme), "application_id": decision.application_id,
        "unit_id": facts.unit_id if facts else None, "league_code": facts.league_code if facts else None,
        "title": facts.title if facts else "",
        "approved": decision.approved, "document_ref": decision.document_ref,
        "decided_on": decision.decided_on.isoformat(), "recorded_by": decision.recorded_by,
        "correction": previous is not None, "correction_reason": reason,
        "previous": None if previous is None else {"approved": previous.approved,
                                                   "document_ref": previous.document_ref,
                                                   "decided_on": previous.decided_on.isoformat()},
    }}


def record_ministry_decision(rnd: ReviewRound, proposal: SelectionProposal, application_id: str,
                             existing: MinistryDecision | None, approved: bool, document_ref: str,
                             decided_on: dt.date, actor: str, now: dt.datetime,
                             facts: ApplicationFacts | None = None) -> tuple[MinistryDecision, dict]:
    require_aware(now, "now")
    if rnd.state is not RoundState.PUBLISHED or proposal.round_id != rnd.id:
        raise Conflict("round_not_published", "评审结果公布后才能登记人力资源社会保障部的决定", {"round_id": rnd.id})
    line = proposal.outcome_of(application_id)
    if line is None or line.outcome != RECOMMENDED_NATIONAL:
        raise Conflict("not_recommended", "只有推荐至人力资源社会保障部的项目才能登记部里的决定",
                       {"application_id": application_id})
    if existing is not None:
        raise Conflict("ministry_decision_already_recorded", "该项目已登记人力资源社会保障部的决定；如需修改，请提交更正并说明理由",
                       {"application_id": application_id, "decision": existing.to_dict()})
    ref = _check(approved, document_ref, decided_on, now)
    decision = MinistryDecision(round_id=rnd.id, application_id=application_id, approved=approved,
                                document_ref=ref, decided_on=decided_on, recorded_by=actor, recorded_at=now)
    return decision, _event(rnd, decision, facts, None, None)


def correct_ministry_decision(rnd: ReviewRound, existing: MinistryDecision, approved: bool, document_ref: str,
                              decided_on: dt.date, actor: str, now: dt.datetime, reason: str,
                              facts: ApplicationFacts | None = None) -> tuple[MinistryDecision, dict]:
    require_aware(now, "now")
    text = require_text(reason)
    if text is None:
        raise ValidationFailed("reason_required", "更正人力资源社会保障部决定须说明理由",
                               [problem("reason", "required", "请填写更正理由")])
    ref = _check(approved, document_ref, decided_on, now)
    previous = {"approved": existing.approved, "document_ref": existing.document_ref,
                "decided_on": existing.decided_on.isoformat(), "recorded_by": existing.recorded_by,
                "recorded_at": existing.recorded_at.isoformat(), "corrected_by": actor,
                "corrected_at": now.isoformat(), "reason": text}
    corrected = replace(existing, approved=approved, document_ref=ref, decided_on=decided_on, recorded_by=actor,
                        recorded_at=now, corrections=existing.corrections + (previous,))
    return corrected, _event(rnd, corrected, facts, existing, text)
