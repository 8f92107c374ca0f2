"""Double-entry ledger: transfers made of signed legs that sum to zero.

A leg's amount is signed: positive = debit (the account's balance grows), negative = credit. Every transfer
has at least two legs, no zero leg, and sums to exactly 0.00 — checked here and again by the database at
commit (funding/sql/ledger_guards.sql). Entries are never edited: a correction is ``reversal`` of the
wrong transfer (every leg negated, ``reverses`` = its id), followed by the right transfer.

Accounts:
    source:ministry, source:department   where a budget's money comes from (credit balance = funds granted)
    budget:<id>:allocated                 funds granted to the budget (debit balance)
    budget:<id>:disbursed                 net funds paid to the unit (debit balance)
    bank:clearing                         the department's paying bank account; reconciled with the bank's
                                          statements by the transfer memo (the bank reference)

Available to a budget = balance(allocated) − balance(disbursed). Flows:
    allocation  budget:X:allocated +A   source:S −A
    payment     budget:X:disbursed +a   bank:clearing −a
    return      bank:clearing +r        budget:X:disbursed −r
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping

from grassroots.errors import Conflict, ValidationFailed

from .money import CENT, ZERO, require_positive

SOURCES = {"ministry": "人力资源社会保障部", "department": "自治区人力资源和社会保障厅"}
BANK_CLEARING = "bank:clearing"

ALLOCATION = "allocation"
PAYMENT = "payment"
RETURN = "return"
REVERSAL = "reversal"
KINDS = frozenset({ALLOCATION, PAYMENT, RETURN, REVERSAL})

_ACCOUNT = re.compile(r"^(source:(ministry|department)|bank:clearing|budget:[A-Za-z0-9_\-]+:(allocated|disbursed))$")


def source_account(source: str) -> str:
    if source not in SOURCES:
        raise ValidationFailed("unknown_funding_source", f"资金来源“{source}”无效，应为部级或厅级资金",
                               [{"path": "source", "code": "unknown_funding_source",
                                 "message": "资金来源应为 ministry（部级）或 department（厅级）"}])
    return f"source:{source}"


def _budget_part(budget_id: str) -> str:
    text = str(budget_id)
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", text):
        raise ValueError(f"budget id not usable in an account name: {budget_id!r}")
    return text


def budget_allocated(budget_id: str) -> str:
    return f"budget:{_budget_part(budget_id)}:allocated"


def budget_disbursed(budget_id: str) -> str:
    return f"budget:{_budget_part(budget_id)}:disbursed"


@dataclass(frozen=True, slots=True)
class Leg:
    account: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Transfer:
    id: str
    kind: str
    budget_id: str | None
    legs: tuple[Leg, ...]
    reverses: str | None = None
    memo: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "budget_id": self.budget_id, "reverses": self.reverses,
                "memo": self.memo, "legs": [{"account": l.account, "amount": f"{l.amount:f}"} for l in self.legs]}


def check_legs(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """Return the legs as a tuple if they form a valid transfer, else raise ValidationFailed.

    Codes: too_few_legs, zero_leg, invalid_leg_amount, unknown_account, unbalanced_transfer.
    """
    legs = tuple(legs)
    problems: list[dict] = []
    if len(legs) < 2:
        problems.append({"path": "legs", "code": "too_few_legs", "message": "一笔转账至少需要两条分录"})
    total = ZERO
    for i, leg in enumerate(legs):
        path = f"legs[{i}]"
        if not isinstance(leg.amount, Decimal) or not leg.amount.is_finite() or leg.amount != leg.amount.quantize(CENT):
            problems.append({"path": path, "code": "invalid_leg_amount", "message": "分录金额须为精确到分的小数"})
            continue
        if leg.amount == 0:
            problems.append({"path": path, "code": "zero_leg", "message": "分录金额不能为零"})
        if not _ACCOUNT.match(leg.account or ""):
            problems.append({"path": path, "code": "unknown_account", "message": f"科目“{leg.account}”无效"})
        total += leg.amount
    if total != 0:
        problems.append({"path": "legs", "code": "unbalanced_transfer",
                         "message": f"借贷不平衡：分录合计为{total:f}，应为0"})
    if problems:
        raise ValidationFailed("invalid_transfer", "转账分录不符合复式记账规则", problems)
    return legs


def transfer(*, id: str, kind: str, budget_id: str | None, legs: Iterable[Leg], reverses: str | None = None,
             memo: str = "") -> Transfer:
    if kind not in KINDS:
        raise ValueError(f"unknown transfer kind {kind!r}")
    return Transfer(id=id, kind=kind, budget_id=budget_id, legs=check_legs(legs), reverses=reverses, memo=memo)


def allocation(*, id: str, budget_id: str, source: str, amount: Decimal, memo: str = "") -> Transfer:
    """The source grants ``amount`` to the budget."""
    require_positive(amount)
    return transfer(id=id, kind=ALLOCATION, budget_id=budget_id, memo=memo, legs=(
        Leg(budget_allocated(budget_id), amount), Leg(source_account(source), -amount)))


def payment(*, id: str, budget_id: str, amount: Decimal, bank_reference: str, memo: str = "") -> Transfer:
    """A disbursement was paid out of the bank to the unit (recorded when the bank confirms)."""
    require_positive(amount)
    return transfer(id=id, kind=PAYMENT, budget_id=budget_id, memo=memo or bank_reference, legs=(
        Leg(budget_disbursed(budget_id), amount), Leg(BANK_CLEARING, -amount)))


def funds_returned(*, id: str, budget_id: str, amount: Decimal, bank_reference: str, memo: str = "") -> Transfer:
    """The unit sent ``amount`` back; it is available to the budget again."""
    require_positive(amount)
    return transfer(id=id, kind=RETURN, budget_id=budget_id, memo=memo or bank_reference, legs=(
        Leg(BANK_CLEARING, amount), Leg(budget_disbursed(budget_id), -amount)))


def reversal(original: Transfer, *, id: str, memo: str, already_reversed: Iterable[str] = ()) -> Transfer:
    """The reversing entry of ``original``: same accounts, every amount negated. A transfer is reversed once."""
    if original.id in set(already_reversed):
        raise Conflict("transfer_already_reversed", "该笔转账已冲销，不能重复冲销", {"id": original.id})
    if not (memo or "").strip():
        raise ValidationFailed("reason_required", "冲销须说明原因",
                               [{"path": "memo", "code": "reason_required", "message": "请填写冲销原因"}])
    return transfer(id=id, kind=REVERSAL, budget_id=original.budget_id, reverses=original.id, memo=memo.strip(),
                    legs=tuple(Leg(l.account, -l.amount) for l in original.legs))


def balances(legs: Iterable[Leg]) -> dict[str, Decimal]:
    """Sum per account (debit positive)."""
    out: dict[str, Decimal] = {}
    for leg in legs:
        out[leg.account] = out.get(leg.account, ZERO) + leg.amount
    return out


def available(budget_id: str, account_balances: Mapping[str, Decimal]) -> Decimal:
    return (account_balances.get(budget_allocated(budget_id), ZERO)
            - account_balances.get(budget_disbursed(budget_id), ZERO))
