"""Disbursements: the state machine, four eyes, tranches within the budget, and idempotent requests.

States::

    requested ──approve──▶ approved ──mark_paid──▶ paid ──record_return──▶ returned (partial or full;
        │                      └────mark_failed──▶ failed                  more returns allowed up to the amount)
        ├──reject──▶ rejected
        └──cancel──▶ cancelled

Budget rule (the same as the database guard in ``funding/sql/ledger_guards.sql``): the *active* total — the
net amount (amount − returned_amount) of disbursements that are requested, approved, paid or returned —
may never exceed the budget. Requests reserve budget, so a tranche that could never be approved is refused
when requested, and ``approve`` re-checks. This makes "approved + paid − returned ≤ budget" hold always.

Four eyes: ``approve`` refuses an approver who is the requester (Forbidden "four_eyes_violation"); the rule
lives here so that every entrypoint (HTTP, RPC, a script) goes through it.

Idempotency: a request carries a key; the service stores (key, ``request_fingerprint(body)``, first result)
and calls ``replay_or_refuse`` before doing anything.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable

from grassroots.errors import Conflict, Forbidden, ValidationFailed

from .actors import FINANCE_OFFICER, Actor, require_role
from .money import ZERO, format_yuan, require_positive


class Status(str, Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    Status.REQUESTED: "待审批", Status.APPROVED: "已审批", Status.PAID: "已拨付", Status.FAILED: "拨付失败",
    Status.RETURNED: "已退回", Status.REJECTED: "已驳回", Status.CANCELLED: "已撤销",
}

# Statuses whose net amount counts against the budget. Keep in step with funding/sql/ledger_guards.sql.
ACTIVE_STATUSES = frozenset({Status.REQUESTED, Status.APPROVED, Status.PAID, Status.RETURNED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REQUESTED: frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED}),
    Status.APPROVED: frozenset({Status.PAID, Status.FAILED}),
    Status.PAID: frozenset({Status.RETURNED}),
    Status.RETURNED: frozenset({Status.RETURNED}),
    Status.FAILED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Disbursement:
    id: str
    budget_id: str
    amount: Decimal
    status: Status
    requested_by: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    paid_at: datetime | None = None
    bank_reference: str | None = None
    failed_reason: str | None = None
    returned_amount: Decimal = ZERO
    closed_by: str | None = None      # who rejected/cancelled
    closed_reason: str | None = None

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.returned_amount

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, Decimal):
                value = f"{value:f}"
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Status):
                value = value.value
            out[name] = value
        return out


def _transition(d: Disbursement, to: Status) -> None:
    if to not in TRANSITIONS[d.status]:
        raise Conflict("invalid_transition",
                       f"拨付状态为“{STATUS_LABELS[d.status]}”，不能变更为“{STATUS_LABELS[to]}”",
                       {"id": d.id, "from": d.status.value, "to": to.value})


def active_total(disbursements: Iterable[Disbursement], budget_id: str | None = None,
                 exclude_id: str | None = None) -> Decimal:
    """Net amount of active disbursements (optionally of one budget, leaving one id out)."""
    total = ZERO
    for d in disbursements:
        if d.status in ACTIVE_STATUSES and d.id != exclude_id and (budget_id is None or d.budget_id == budget_id):
            total += d.amount - d.returned_amount
    return total


def remaining(budget_amount: Decimal, disbursements: Iterable[Disbursement], budget_id: str | None = None) -> Decimal:
    return budget_amount - active_total(disbursements, budget_id)


def ensure_within_budget(budget_amount: Decimal, others: Iterable[Disbursement], amount: Decimal,
                         budget_id: str | None = None, exclude_id: str | None = None) -> None:
    """Raise Conflict("budget_exceeded") if ``amount`` on top of the active total exceeds the budget."""
    used = active_total(others, budget_id, exclude_id)
    if used + amount > budget_amount:
        left = budget_amount - used
        raise Conflict("budget_exceeded",
                       f"拨付金额{format_yuan(amount)}超出预算余额{format_yuan(left)}（预算{format_yuan(budget_amount)}）",
                       {"budget": f"{budget_amount:f}", "committed": f"{used:f}", "requested": f"{amount:f}",
                        "remaining": f"{left:f}"})


def request(*, id: str, budget_id: str, budget_amount: Decimal, existing: Iterable[Disbursement],
            amount: Decimal, requester: Actor, at: datetime) -> Disbursement:
    """A finance officer requests a tranche; refused if it does not fit in what is left of the budget.

    ``existing``: the budget's disbursements, read under the budget row lock (see sql/README.md).
    """
    require_role(requester, FINANCE_OFFICER)
    require_positive(amount)
    ensure_within_budget(budget_amount, existing, amount, budget_id)
    return Disbursement(id=id, budget_id=budget_id, amount=amount, status=Status.REQUESTED,
                        requested_by=requester.id, requested_at=at)


def approve(d: Disbursement, *, approver: Actor, at: datetime, budget_amount: Decimal,
            existing: Iterable[Disbursement]) -> Disbursement:
    """A second finance officer approves. Four eyes first, then the state, then the budget."""
    require_role(approver, FINANCE_OFFICER)
    if approver.id == d.requested_by:
        raise Forbidden("four_eyes_violation", "审批人不能与申请人为同一人：拨付须由另一名财务人员审批",
                        {"id": d.id, "requested_by": d.requested_by})
    _transition(d, Status.APPROVED)
    ensure_within_budget(budget_amount, existing, d.amount, d.budget_id, exclude_id=d.id)
    return replace(d, status=Status.APPROVED, approved_by=approver.id, approved_at=at)


def reject(d: Disbursement, *, actor: Actor, reason: str) -> Disbursement:
    require_role(actor, FINANCE_OFFICER)
    if actor.id == d.requested_by:
        raise Forbidden("four_eyes_violation", "申请人不能驳回自己的拨付申请，如需放弃请撤销")
    _transition(d, Status.REJECTED)
    _require_reason(reason)
    return replace(d, status=Status.REJECTED, closed_by=actor.id, closed_reason=reason.strip())


def cancel(d: Disbursement, *, actor: Actor, reason: str) -> Disbursement:
    require_role(actor, FINANCE_OFFICER)
    _transition(d, Status.CANCELLED)
    _require_reason(reason)
    return replace(d, status=Status.CANCELLED, closed_by=actor.id, closed_reason=reason.strip())


def mark_paid(d: Disbursement, *, actor: Actor, at: datetime, bank_reference: str) -> Disbursement:
    require_role(actor, FINANCE_OFFICER)
    _transition(d, Status.PAID)
    if not (bank_reference or "").strip():
        raise ValidationFailed("bank_reference_required", "请填写银行交易流水号",
                               [{"path": "bank_reference", "code": "bank_reference_required",
                                 "message": "请填写银行交易流水号"}])
    return replace(d, status=Status.PAID, paid_at=at, bank_reference=bank_reference.strip())


def mark_failed(d: Disbursement, *, actor: Actor, reason: str) -> Disbursement:
    require_role(actor, FINANCE_OFFICER)
    _transition(d, Status.FAILED)
    _require_reason(reason)
    return replace(d, status=Status.FAILED, failed_reason=reason.strip())


def record_return(d: Disbursement, *, actor: Actor, amount: Decimal) -> Disbursement:
    """Funds came back (partially or fully). Returned funds free budget for later tranches."""
    require_role(actor, FINANCE_OFFICER)
    _transition(d, Status.RETURNED)
    require_positive(amount)
    if d.returned_amount + amount > d.amount:
        raise Conflict("return_exceeds_paid",
                       f"退回金额{format_yuan(amount)}超过可退回金额{format_yuan(d.amount - d.returned_amount)}",
                       {"id": d.id, "paid": f"{d.amount:f}", "returned": f"{d.returned_amount:f}"})
    return replace(d, status=Status.RETURNED, returned_amount=d.returned_amount + amount)


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", "请填写原因",
                               [{"path": "reason", "code": "reason_required", "message": "请填写原因"}])


# -- idempotency -----------------------------------------------------------------------------------------

def _canonical_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON-able in a request body: {type(value).__name__}")


def request_fingerprint(body: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of a request body: sorted keys, no spaces, UTF-8.

    Key order and whitespace do not matter; any value difference does. Decimals are encoded as their
    plain string ("100.00" and "100.0" differ: parse amounts before fingerprinting if that matters).
    """
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_canonical_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    result: Any


MAX_KEY_LENGTH = 200


def check_idempotency_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed("idempotency_key_invalid", "请求须携带幂等键（1至200个字符）",
                               [{"path": "idempotency_key", "code": "idempotency_key_invalid",
                                 "message": "请求须携带幂等键（1至200个字符）"}])
    return key


def replay_or_refuse(stored: IdempotencyRecord | None, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """None: a new key, do the work and store (key, fingerprint, result). Same key and body: the stored
    record, whose ``result`` the caller returns without doing anything. Same key, other body:
    Conflict("idempotency_key_reused") → HTTP 409."""
    key = check_idempotency_key(key)
    if stored is None:
        return None
    if stored.key != key:
        raise ValueError("stored record is for another key")
    if stored.fingerprint != fingerprint:
        raise Conflict("idempotency_key_reused", "该幂等键已用于内容不同的请求，请使用新的幂等键重新提交",
                       {"idempotency_key": key})
    return stored
