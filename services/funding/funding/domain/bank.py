"""The recipient's bank account: format checks and the frozen-account rule.

``check_bank_account`` reports every problem at once (ValidationFailed, details with path/code/message).
The account name must equal the unit's registered name after normalisation: NFKC folds full-width
parentheses, letters and digits to half-width, then all whitespace is removed, so "某某（集团）有限公司"
and "某某(集团) 有限公司" match while a different name does not.

Frozen-account rule (``AccountBinding``): the account given with the application may be replaced freely
until the first disbursement of the budget is approved; from then on it is frozen and a replacement is
only a *pending change* until a finance officer other than the one who proposed it approves it. All
functions return new values; persistence is the service's business.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime

from grassroots.errors import Conflict, Forbidden, ValidationFailed

from .actors import FINANCE_OFFICER, Actor, require_role

_DIGITS = re.compile(r"^[0-9]+$")
_SEPARATORS = re.compile(r"[\s\-]")

ACCOUNT_NUMBER_MIN = 8
ACCOUNT_NUMBER_MAX = 32


def normalise_name(name: str) -> str:
    """Fold full-width/half-width forms (NFKC) and drop all whitespace, for name comparison."""
    return "".join(unicodedata.normalize("NFKC", name or "").split())


@dataclass(frozen=True, slots=True)
class BankAccount:
    interbank_code: str   # 开户行联行号, 12 digits
    account_number: str   # 账号, digits only once checked
    account_name: str     # 户名 (拨款账户)
    bank_name: str        # 开户银行

    def to_dict(self) -> dict:
        return {"interbank_code": self.interbank_code, "account_number": self.account_number,
                "account_name": self.account_name, "bank_name": self.bank_name}


def check_bank_account(account: BankAccount, registered_name: str, path: str = "bank_account") -> BankAccount:
    """Validate ``account`` for the unit registered as ``registered_name``.

    Returns a cleaned copy (codes and numbers with spaces/hyphens removed, full-width digits folded,
    names trimmed). Raises ValidationFailed("bank_account_invalid", ..., details=[...]) listing each problem;
    detail codes: interbank_code_missing, interbank_code_invalid, account_number_missing,
    account_number_invalid, account_name_missing, account_name_mismatch, bank_name_missing.
    """
    problems: list[dict] = []

    def add(field: str, code: str, message: str) -> None:
        problems.append({"path": f"{path}.{field}", "code": code, "message": message})

    code = _SEPARATORS.sub("", unicodedata.normalize("NFKC", account.interbank_code or ""))
    number = _SEPARATORS.sub("", unicodedata.normalize("NFKC", account.account_number or ""))
    name = (account.account_name or "").strip()
    bank = (account.bank_name or "").strip()

    if not code:
        add("interbank_code", "interbank_code_missing", "请填写开户行联行号")
    elif not (_DIGITS.match(code) and len(code) == 12):
        add("interbank_code", "interbank_code_invalid", f"开户行联行号应为12位数字，当前为“{account.interbank_code}”")
    if not number:
        add("account_number", "account_number_missing", "请填写银行账号")
    elif not (_DIGITS.match(number) and ACCOUNT_NUMBER_MIN <= len(number) <= ACCOUNT_NUMBER_MAX):
        add("account_number", "account_number_invalid",
            f"银行账号应为{ACCOUNT_NUMBER_MIN}至{ACCOUNT_NUMBER_MAX}位数字，当前为“{account.account_number}”")
    if not name:
        add("account_name", "account_name_missing", "请填写账户名称（户名）")
    elif normalise_name(name) != normalise_name(registered_name):
        add("account_name", "account_name_mismatch",
            f"账户名称“{name}”与单位登记名称“{registered_name}”不一致，拨款账户须为申报单位本单位账户")
    if not bank:
        add("bank_name", "bank_name_missing", "请填写开户银行")
    if problems:
        raise ValidationFailed("bank_account_invalid", "银行账户信息有误，请逐项核对后重新提交", problems)
    return BankAccount(code, number, name, bank)


@dataclass(frozen=True, slots=True)
class PendingAccountChange:
    account: BankAccount
    proposed_by: str
    proposed_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class AccountBinding:
    """The account a budget pays to. ``frozen`` becomes True when its first disbursement is approved."""

    budget_id: str
    account: BankAccount
    frozen: bool = False
    pending: PendingAccountChange | None = None
    version: int = 1   # bumps on every replacement, so a disbursement can record which account it used


def freeze_on_first_approval(binding: AccountBinding) -> AccountBinding:
    """Call when a disbursement of the budget is approved; idempotent."""
    return binding if binding.frozen else replace(binding, frozen=True)


def propose_account_change(binding: AccountBinding, new_account: BankAccount, registered_name: str,
                           actor: Actor, at: datetime, reason: str) -> AccountBinding:
    """Replace the account (not yet frozen) or record a pending change needing a second officer (frozen)."""
    require_role(actor, FINANCE_OFFICER)
    checked = check_bank_account(new_account, registered_name)
    if not binding.frozen:
        return replace(binding, account=checked, pending=None, version=binding.version + 1)
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", "账户已冻结，变更须说明理由",
                               [{"path": "reason", "code": "reason_required", "message": "请填写变更理由"}])
    if binding.pending is not None:
        raise Conflict("bank_account_change_pending", "已有一项待审批的账户变更，请先审批或撤回")
    return replace(binding, pending=PendingAccountChange(checked, actor.id, at, reason.strip()))


def approve_account_change(binding: AccountBinding, approver: Actor) -> AccountBinding:
    """A second finance officer approves the pending change; the new account stays frozen."""
    require_role(approver, FINANCE_OFFICER)
    if binding.pending is None:
        raise Conflict("no_pending_account_change", "没有待审批的账户变更")
    if approver.id == binding.pending.proposed_by:
        raise Forbidden("four_eyes_violation", "账户变更须由另一名财务人员审批，提出人不能审批自己的变更")
    return replace(binding, account=binding.pending.account, pending=None, version=binding.version + 1)


def withdraw_account_change(binding: AccountBinding, actor: Actor) -> AccountBinding:
    """Drop a pending change (rejected by a second officer, or withdrawn by its proposer)."""
    require_role(actor, FINANCE_OFFICER)
    if binding.pending is None:
        raise Conflict("no_pending_account_change", "没有待审批的账户变更")
    return replace(binding, pending=None)


def ensure_payable(binding: AccountBinding) -> BankAccount:
    """The account to pay to; refuses while a change awaits approval (which account would be right?)."""
    if binding.pending is not None:
        raise Conflict("bank_account_change_pending", "收款账户变更待审批，审批完成前不能拨付")
    return binding.account
