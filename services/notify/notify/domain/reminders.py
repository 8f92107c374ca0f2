"""Reminders the notify service computes from data it keeps (learned from events or RPC), as pure functions.

Each function takes ``now`` (UTC) and the facts, and returns reminder envelopes shaped like the other
services' events, ready for ``routing.route``. A reminder's ``id`` is built from what makes it unique
(``deadline_reminder:<call>:<unit>:7``), never from the time it was computed, so a timer that fires
every few minutes produces the same dedup keys and each reminder reaches each person once.

Windows (a timer runs often; a reminder is due from its mark until the next mark or the end):
- deadline: the 7-day reminder from deadline-7d until deadline-1d, the 1-day one from deadline-1d until
  the deadline; only to units with drafts not yet submitted or quota not used.
- report due: from due-3d until due, while the report is not filed; overdue: from due on.
- scoring: from close-2d until close, to reviewers with unscored assignments.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence


DEADLINE_MARKS = (7, 1)  # days before the deadline, largest first
REPORT_DUE_DAYS = 3
SCORING_DAYS = 2

SYSTEM_ACTOR = {"id": "system", "role": "system", "unit_id": None}


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a datetime: {value!r}")
    if value.tzinfo is None:
        raise ValueError("reminder times must be timezone-aware (UTC)")
    return value.astimezone(dt.timezone.utc)


def _envelope(event_id: str, event_type: str, occurred_at: dt.datetime, payload: dict) -> dict:
    return {
        "id": event_id,
        "type": event_type,
        "source": "notify",
        # The mark, not the moment of computing: the envelope is the same however often the timer runs.
        "occurred_at": occurred_at.isoformat(),
        "correlation_id": event_id,
        "actor": dict(SYSTEM_ACTOR),
        "schema_version": 1,
        "payload": payload,
    }


@dataclass(frozen=True)
class UnitStanding:
    """One applicant unit in one call: drafts not submitted, quota (None: unlimited) and quota used."""

    unit_id: str
    unit_name: str
    drafts: int = 0
    quota: int | None = 0
    used: int = 0
    contacts: Sequence[Mapping[str, Any]] = ()
    user_ids: Sequence[str] = ()

    @property
    def quota_left(self) -> int:
        if self.quota is None:
            return 0  # unlimited (returnee parks): nothing to remind about quota
        return max(self.quota - self.used, 0)

    @property
    def needs_reminder(self) -> bool:
        return self.drafts > 0 or self.quota_left > 0


@dataclass(frozen=True)
class CallDeadline:
    call: Mapping[str, Any]          # the call summary {id, year, title, doc_no, contacts}
    deadline: dt.datetime            # UTC
    units: Sequence[UnitStanding] = ()


def deadline_mark(now: dt.datetime, deadline: dt.datetime) -> int | None:
    """The mark (7 or 1 days before) whose window contains ``now``, or None."""
    now, deadline = _utc(now), _utc(deadline)
    if now >= deadline:
        return None
    for index, days in enumerate(DEADLINE_MARKS):
        start = deadline - dt.timedelta(days=days)
        later = DEADLINE_MARKS[index + 1] if index + 1 < len(DEADLINE_MARKS) else 0
        end = deadline - dt.timedelta(days=later)
        if start <= now < end:
            return days
    return None


def deadline_reminder_id(call_id: str, unit_id: str, days_left: int) -> str:
    return f"deadline_reminder:{call_id}:{unit_id}:{days_left}"


def deadline_reminders(now: dt.datetime, calls: Iterable[CallDeadline]) -> list[dict]:
    """deadline_reminder envelopes due now: one per call, unit and mark, to units with drafts or unused quota."""
    out = []
    for item in calls:
        days = deadline_mark(now, item.deadline)
        if days is None:
            continue
        deadline = _utc(item.deadline)
        mark_at = deadline - dt.timedelta(days=days)
        for unit in item.units:
            if not unit.needs_reminder:
                continue
            payload = {
                "call": dict(item.call),
                "unit": {"id": unit.unit_id, "name": unit.unit_name},
                "days_left": days,
                "deadline": deadline.isoformat(),
                "drafts": unit.drafts,
                "quota_left": unit.quota_left,
                "recipients": {"unit_contacts": [dict(c) for c in unit.contacts],
                               "user_ids": [str(u) for u in unit.user_ids]},
            }
            out.append(_envelope(deadline_reminder_id(str(item.call["id"]), unit.unit_id, days),
                                 "deadline_reminder", mark_at, payload))
    return out


@dataclass(frozen=True)
class ReportDue:
    """A post-activity report (work summary, photos) an application owes, and whether it was filed."""

    call: Mapping[str, Any]
    application: Mapping[str, Any]
    due_at: dt.datetime
    filed: bool = False
    contacts: Sequence[Mapping[str, Any]] = ()
    user_ids: Sequence[str] = ()


def report_reminders(now: dt.datetime, reports: Iterable[ReportDue]) -> list[dict]:
    """report_due_reminder (within 3 days of the due time) and report_overdue_reminder (after it)."""
    now = _utc(now)
    out = []
    for report in reports:
        if report.filed:
            continue
        due = _utc(report.due_at)
        app_id = str(report.application["id"])
        if due - dt.timedelta(days=REPORT_DUE_DAYS) <= now < due:
            event_type, event_id, mark_at = ("report_due_reminder", f"report_due_reminder:{app_id}:{REPORT_DUE_DAYS}",
                                             due - dt.timedelta(days=REPORT_DUE_DAYS))
        elif now >= due:
            event_type, event_id, mark_at = "report_overdue_reminder", f"report_overdue_reminder:{app_id}", due
        else:
            continue
        payload = {
            "call": dict(report.call),
            "application": dict(report.application),
            "due_at": due.isoformat(),
            "recipients": {"unit_contacts": [dict(c) for c in report.contacts],
                           "user_ids": [str(u) for u in report.user_ids]},
        }
        out.append(_envelope(event_id, event_type, mark_at, payload))
    return out


@dataclass(frozen=True)
class ReviewerLoad:
    reviewer: Mapping[str, Any]   # {id, name, email, mobile?, user_id}
    unscored: int


@dataclass(frozen=True)
class RoundClosing:
    call: Mapping[str, Any]
    round: Mapping[str, Any]      # {id, name?}
    close_at: dt.datetime
    reviewers: Sequence[ReviewerLoad] = field(default_factory=tuple)


def scoring_reminders(now: dt.datetime, rounds: Iterable[RoundClosing]) -> list[dict]:
    """scoring_reminder envelopes: reviewers with unscored assignments, from 2 days before the round closes."""
    now = _utc(now)
    out = []
    for item in rounds:
        close = _utc(item.close_at)
        mark_at = close - dt.timedelta(days=SCORING_DAYS)
        if not (mark_at <= now < close):
            continue
        for load in item.reviewers:
            if load.unscored <= 0:
                continue
            reviewer_id = str(load.reviewer.get("id") or load.reviewer.get("user_id"))
            payload = {
                "call": dict(item.call),
                "round": {**dict(item.round), "close_at": close.isoformat()},
                "reviewer": dict(load.reviewer),
                "unscored_count": load.unscored,
                "recipients": {"unit_contacts": [], "user_ids": []},
            }
            out.append(_envelope(f"scoring_reminder:{item.round['id']}:{reviewer_id}", "scoring_reminder",
                                 mark_at, payload))
    return out
