"""Final accounts (决算): a unit's spending by category, checked against the budget's category plan.

``review_final_accounts`` returns flags (it refuses nothing: a unit must be able to report what it really
spent; officers and auditors act on the flags). Flag codes:

    category_over_budget   spending in a category exceeds its planned amount            (error)
    total_over_budget      total spending exceeds the budget                            (error)
    outside_earmark        spending in a category with no planned amount (专款专用)      (error)
    spent_more_than_received  total spending exceeds the net amount disbursed            (warning)
    unspent_balance        money left: to be returned or explained (结余)                 (info)

Malformed input (unknown category, bad amount, a plan that exceeds the budget) is ValidationFailed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from grassroots.errors import ValidationFailed

from .money import ZERO, format_yuan, parse_yuan

CATEGORIES: dict[str, str] = {
    "expert_fees": "专家劳务费",
    "travel": "差旅费",
    "meetings": "会议费",
    "printing": "资料印刷费",
    "training": "培训费",
    "venue": "场地租赁费",
    "other": "其他",
}

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    severity: str
    message: str
    category: str | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "category": self.category,
                "category_label": CATEGORIES.get(self.category) if self.category else None,
                "message": self.message, "details": self.details}


def _amounts(lines: Mapping[str, Any], path: str, problems: list[dict]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for category, raw in lines.items():
        p = f"{path}.{category}"
        if category not in CATEGORIES:
            problems.append({"path": p, "code": "unknown_category",
                             "message": f"支出科目“{category}”无效，应为：{'、'.join(CATEGORIES.values())}"})
            continue
        try:
            amount = parse_yuan(raw, p)
        except ValidationFailed as exc:
            problems.extend(exc.details)
            continue
        if amount < 0:
            problems.append({"path": p, "code": "negative_amount", "message": f"{CATEGORIES[category]}金额不能为负数"})
            continue
        out[category] = amount
    return out


def review_final_accounts(*, budget_amount: Decimal, plan: Mapping[str, Any], spending: Mapping[str, Any],
                          disbursed: Decimal | None = None) -> list[Flag]:
    """Flags for a unit's reported ``spending`` {category: amount} against the ``plan`` {category: amount}
    of a budget of ``budget_amount``. ``disbursed``: net amount paid to the unit, if known."""
    problems: list[dict] = []
    planned = _amounts(plan, "plan", problems)
    spent = _amounts(spending, "spending", problems)
    if not problems and sum(planned.values(), ZERO) > budget_amount:
        problems.append({"path": "plan", "code": "plan_exceeds_budget",
                         "message": f"预算分项合计{format_yuan(sum(planned.values(), ZERO))}超过预算总额{format_yuan(budget_amount)}"})
    if problems:
        raise ValidationFailed("final_accounts_invalid", "决算数据有误，请核对后重新提交", problems)

    flags: list[Flag] = []
    for category in CATEGORIES:   # stable order: the order officers read the form in
        amount = spent.get(category, ZERO)
        if amount == 0:
            continue
        label = CATEGORIES[category]
        budgeted = planned.get(category, ZERO)
        if budgeted == 0:
            flags.append(Flag("outside_earmark", ERROR,
                              f"{label}支出{format_yuan(amount)}不在预算批准的用途内，违反专款专用", category,
                              {"spent": f"{amount:f}"}))
        elif amount > budgeted:
            flags.append(Flag("category_over_budget", ERROR,
                              f"{label}支出{format_yuan(amount)}超过预算{format_yuan(budgeted)}，超支{format_yuan(amount - budgeted)}",
                              category, {"planned": f"{budgeted:f}", "spent": f"{amount:f}",
                                         "excess": f"{amount - budgeted:f}"}))
    total = sum(spent.values(), ZERO)
    if total > budget_amount:
        flags.append(Flag("total_over_budget", ERROR,
                          f"支出合计{format_yuan(total)}超过预算总额{format_yuan(budget_amount)}，超支{format_yuan(total - budget_amount)}",
                          None, {"budget": f"{budget_amount:f}", "spent": f"{total:f}",
                                 "excess": f"{total - budget_amount:f}"}))
    if disbursed is not None and total > disbursed:
        flags.append(Flag("spent_more_than_received", WARNING,
                          f"支出合计{format_yuan(total)}超过实际拨付金额{format_yuan(disbursed)}，请说明资金来源",
                          None, {"disbursed": f"{disbursed:f}", "spent": f"{total:f}"}))
    received = budget_amount if disbursed is None else disbursed
    if total < received:
        flags.append(Flag("unspent_balance", INFO,
                          f"结余{format_yuan(received - total)}，应按规定退回或说明用途", None,
                          {"received": f"{received:f}", "spent": f"{total:f}", "balance": f"{received - total:f}"}))
    return flags


def has_errors(flags: list[Flag]) -> bool:
    return any(f.severity == ERROR for f in flags)
