"""The application lifecycle as a pure state machine, and the deadline rule.

States: ``draft`` → ``submitted`` → ``received``; ``withdrawn`` and ``forfeited`` end an application early.

| transition | from               | to        | who may                          | why                                        |
|------------|--------------------|-----------|----------------------------------|--------------------------------------------|
| submit     | draft              | submitted | applicant_unit                   | the unit sends it (before the deadline)     |
| receive    | submitted          | received  | intake_clerk                     | paper copies and the letter have arrived    |
| withdraw   | draft, submitted   | withdrawn | applicant_unit                   | the unit takes it back before receipt       |
| forfeit    | draft, submitted   | forfeited | programme_officer, system        | 逾期不报视为放弃: deadline passed unsent, or |
|            |                    |           |                                  | the officer marks it (e.g. paper never came)|

``system`` is the scheduled job that forfeits drafts still unsent after the deadline.

Usage:
    from intake.domain.lifecycle import transition, check_deadline
    new_status = transition("draft", "submit", "applicant_unit")   # 'submitted'
    check_deadline(now_utc, call)   # raises Conflict("deadline_passed") after the call's deadline

A transition from the wrong state raises Conflict ``invalid_transition``; a role that may not make it
raises Forbidden ``role_not_allowed``; an unknown transition name raises BadRequest ``unknown_transition``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from grassroots.errors import BadRequest, Conflict, Forbidden

from .model import LOCAL_TZ, Call

DRAFT, SUBMITTED, RECEIVED, WITHDRAWN, FORFEITED = "draft", "submitted", "received", "withdrawn", "forfeited"

STATUS_LABELS = {
    DRAFT: "草稿", SUBMITTED: "已提交", RECEIVED: "已接收", WITHDRAWN: "已撤回", FORFEITED: "视为放弃",
}
#: statuses that use up the unit's quota.
COUNTING_STATUSES = frozenset({SUBMITTED, RECEIVED})
FINAL_STATUSES = frozenset({RECEIVED, WITHDRAWN, FORFEITED})

APPLICANT_UNIT, INTAKE_CLERK, PROGRAMME_OFFICER, SYSTEM = (
    "applicant_unit", "intake_clerk", "programme_officer", "system")
ROLE_LABELS = {APPLICANT_UNIT: "申报单位", INTAKE_CLERK: "人事人才公共服务中心受理人员",
               PROGRAMME_OFFICER: "专业技术人员管理处", SYSTEM: "系统"}


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]


TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    Transition("submit", "提交", frozenset({DRAFT}), SUBMITTED, frozenset({APPLICANT_UNIT})),
    Transition("receive", "登记接收", frozenset({SUBMITTED}), RECEIVED, frozenset({INTAKE_CLERK})),
    Transition("withdraw", "撤回", frozenset({DRAFT, SUBMITTED}), WITHDRAWN, frozenset({APPLICANT_UNIT})),
    Transition("forfeit", "视为放弃", frozenset({DRAFT, SUBMITTED}), FORFEITED,
               frozenset({PROGRAMME_OFFICER, SYSTEM})),
)}


def transition(status: str, name: str, role: str) -> str:
    """The status after ``role`` makes transition ``name`` from ``status``; raises if not allowed."""
    t = TRANSITIONS.get(name)
    if t is None:
        raise BadRequest("unknown_transition", f"未知的操作：{name}", {"transition": name})
    if role not in t.roles:
        allowed = "、".join(ROLE_LABELS[r] for r in sorted(t.roles))
        raise Forbidden("role_not_allowed", f"只有{allowed}可以{t.label}申报材料",
                        {"transition": name, "role": role})
    if status not in t.sources:
        raise Conflict("invalid_transition",
                       f"申报材料当前状态为“{STATUS_LABELS.get(status, status)}”，不能{t.label}",
                       {"transition": name, "status": status})
    return t.target


def allowed_transitions(status: str, role: str) -> list[str]:
    """Names of the transitions ``role`` may make from ``status`` (for showing buttons)."""
    return [t.name for t in TRANSITIONS.values() if status in t.sources and role in t.roles]


def _local_second(now_utc: dt.datetime) -> dt.datetime:
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise ValueError("now_utc must be timezone-aware")
    return now_utc.astimezone(LOCAL_TZ).replace(microsecond=0)


def deadline_passed(now_utc: dt.datetime, call: Call) -> bool:
    """True once the call's deadline second is over (deadlines have one-second precision, local time)."""
    return _local_second(now_utc) > call.deadline


def check_deadline(now_utc: dt.datetime, call: Call) -> None:
    """Raise Conflict ``deadline_passed`` (逾期不报视为放弃) if ``now_utc`` is after the call's deadline.

    The deadline's whole second still counts: 23:59:59.999 on the last day is on time.
    """
    if deadline_passed(now_utc, call):
        d = call.deadline
        raise Conflict(
            "deadline_passed",
            f"{call.title}的报送截止时间为{d.year}年{d.month}月{d.day}日{d:%H:%M:%S}（北京时间），"
            f"已逾期，不能再提交。逾期不报视为放弃。",
            {"deadline": d.isoformat(), "now": now_utc.astimezone(LOCAL_TZ).isoformat()})
