"""Decision records: who decided what, in which role, when and why (for officers and auditors).

The service layer stores one record per decision, built here so every service method writes the same
shape. Kinds whose nature is a judgement against something (declaring a conflict, rejecting a proposal,
correcting a ministry decision, removing an application) require a reason.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from grassroots.errors import BadRequest, ValidationFailed

from ._common import problem, require_aware, require_text

KINDS = {
    "open_round": "开始评审",
    "close_round": "结束评审",
    "configure_round": "修改评审设置",
    "remove_application": "移出申报项目",
    "assign": "分配评审专家",
    "declare_conflict": "声明回避",
    "score": "评分",
    "propose_selection": "提出遴选方案",
    "approve_selection": "批准遴选方案",
    "reject_selection": "退回遴选方案",
    "publish": "公布评审结果",
    "ministry_decision": "登记人力资源社会保障部决定",
    "ministry_decision_correction": "更正人力资源社会保障部决定",
    "post_evaluation": "后评估评分",
}
REASON_REQUIRED = {"declare_conflict", "reject_selection", "ministry_decision_correction", "remove_application"}


@dataclass(frozen=True)
class DecisionRecord:
    kind: str
    actor_id: str
    actor_role: str
    at: dt.datetime
    subject_type: str
    subject_id: str
    what: Mapping[str, Any] = field(default_factory=dict)
    why: str | None = None
    round_id: str | None = None

    @property
    def label(self) -> str:
        return KINDS[self.kind]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "actor_id": self.actor_id, "actor_role": self.actor_role,
                "at": self.at.isoformat(), "subject_type": self.subject_type, "subject_id": self.subject_id,
                "round_id": self.round_id, "what": dict(self.what), "why": self.why}


def decision_record(kind: str, *, actor_id: str, actor_role: str, at: dt.datetime, subject_type: str,
                    subject_id: str, what: Mapping[str, Any] | None = None, why: str | None = None,
                    round_id: str | None = None) -> DecisionRecord:
    if kind not in KINDS:
        raise BadRequest("unknown_decision_kind", f"未知的决定类型：{kind}", {"kind": kind})
    require_aware(at, "at")
    problems = []
    if not require_text(actor_id):
        problems.append(problem("actor_id", "required", "须注明决定人"))
    if not require_text(actor_role):
        problems.append(problem("actor_role", "required", "须注明决定人的角色"))
    if not require_text(subject_id):
        problems.append(problem("subject_id", "required", "须注明决定对象"))
    reason = require_text(why)
    if kind in REASON_REQUIRED and reason is None:
        problems.append(problem("why", "required", f"“{KINDS[kind]}”须说明理由"))
    if problems:
        raise ValidationFailed("decision_record_invalid", "决定记录不完整", problems)
    return DecisionRecord(kind=kind, actor_id=actor_id, actor_role=actor_role, at=at, subject_type=subject_type,
                          subject_id=subject_id, what=dict(what or {}), why=reason, round_id=round_id)
