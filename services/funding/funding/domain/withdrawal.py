"""Withdrawing a budget whose grant was taken back (the ministry's approval corrected into a refusal).

Budget states::

    awaiting_amount ──amount set──▶ active ──withdraw (no money out)──▶ withdrawn
            │                         └────withdraw (money out)────▶ withdrawal_blocked
            └──withdraw──▶ withdrawn                                  │ the money comes back (record_return) or
                                                                      │ the approved payment fails (mark_failed)
                                                                      └──────────▶ withdrawn

``plan_withdrawal`` decides from the budget's disbursements: requested tranches (no money has moved) are
cancelled with the reason; an approved tranche (the bank may be paying it now) or paid money not fully
returned blocks the withdrawal, and the budget then waits for finance officers, the money untouched. A
fully returned tranche blocks nothing: its money is back. The service then reverses the budget's
allocation in the ledger (never an edit: a reversing entry) once nothing blocks.

A withdrawn budget is granted again (the refusal corrected back into an approval) with a new allocation; a
blocked one simply becomes active again: its allocation was never reversed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from grassroots.errors import Conflict

from .disbursement import Disbursement, Status, _require_reason, _transition
from .money import ZERO

AWAITING_AMOUNT = "awaiting_amount"
ACTIVE = "active"
WITHDRAWN = "withdrawn"
WITHDRAWAL_BLOCKED = "withdrawal_blocked"
STATUSES = (AWAITING_AMOUNT, ACTIVE, WITHDRAWN, WITHDRAWAL_BLOCKED)
STATUS_LABELS = {AWAITING_AMOUNT: "待核定金额", ACTIVE: "执行中", WITHDRAWN: "已撤销",
                 WITHDRAWAL_BLOCKED: "待撤销（已有拨付款项）"}


@dataclass(frozen=True, slots=True)
class WithdrawalPlan:
    cancel: tuple[Disbursement, ...]      # requested tranches to cancel now
    blocking: tuple[Disbursement, ...]    # approved, or paid and not fully returned
    outstanding: Decimal                  # approved + paid − returned: money out or on its way

    @property
    def blocked(self) -> bool:
        return bool(self.blocking)


def plan_withdrawal(items: list[Disbursement]) -> WithdrawalPlan:
    cancel = tuple(d for d in items if d.status is Status.REQUESTED)
    blocking = tuple(d for d in items if d.status is Status.APPROVED
                     or (d.status in (Status.PAID, Status.RETURNED) and d.net_amount > 0))
    return WithdrawalPlan(cancel=cancel, blocking=blocking, outstanding=sum((d.net_amount for d in blocking), ZERO))


def cancel_for_withdrawal(d: Disbursement, *, by: str, reason: str) -> Disbursement:
    """A requested tranche of a budget being withdrawn ends cancelled. Not a finance officer's act but the
    consequence of the decision that withdrew the budget, so no role is required; ``by`` is who made it."""
    _transition(d, Status.CANCELLED)
    _require_reason(reason)
    return replace(d, status=Status.CANCELLED, closed_by=by, closed_reason=reason.strip())


def require_open(status: str, budget_id: str) -> None:
    """New commitments (requests, approvals, amount changes) need a budget that is not being withdrawn."""
    if status == WITHDRAWN:
        raise Conflict("budget_withdrawn", "该项目预算已撤销（资助决定已更正为不予资助），不能再申请、审批拨付或调整金额",
                       {"budget_id": budget_id})
    if status == WITHDRAWAL_BLOCKED:
        raise Conflict("budget_withdrawal_pending",
                       "该项目的资助决定已更正为不予资助，预算待撤销：不能再申请、审批拨付或调整金额；"
                       "已拨付款项请与申报单位联系退回，并登记退款",
                       {"budget_id": budget_id})
