from decimal import Decimal

import pytest

from grassroots.errors import ValidationFailed
from funding.domain.final_accounts import CATEGORIES, has_errors, review_final_accounts

D = Decimal
PLAN = {"expert_fees": "60000.00", "travel": "30000.00", "meetings": "10000.00"}


def codes(flags):
    return [(f.code, f.category) for f in flags]


def test_spending_within_every_category_raises_no_error_flag():
    flags = review_final_accounts(budget_amount=D("100000.00"), plan=PLAN,
                                  spending={"expert_fees": "60000.00", "travel": "30000.00", "meetings": "10000.00"})
    assert flags == []


def test_spending_over_a_category_budget_is_flagged_with_the_excess():
    flags = review_final_accounts(budget_amount=D("100000.00"), plan=PLAN,
                                  spending={"expert_fees": "65000.00", "travel": "20000.00"})
    assert codes(flags)[0] == ("category_over_budget", "expert_fees")
    assert flags[0].details["excess"] == "5000.00"
    assert flags[0].message.startswith("专家劳务费支出¥65,000.00超过预算¥60,000.00")
    assert has_errors(flags)


def test_spending_outside_the_earmarked_purpose_is_flagged():
    flags = review_final_accounts(budget_amount=D("100000.00"), plan=PLAN,
                                  spending={"expert_fees": "10000.00", "printing": "800.00"})
    assert ("outside_earmark", "printing") in codes(flags)
    assert "专款专用" in next(f for f in flags if f.code == "outside_earmark").message


def test_total_spending_over_the_budget_is_flagged():
    flags = review_final_accounts(budget_amount=D("100000.00"), plan=PLAN,
                                  spending={"expert_fees": "60000.00", "travel": "30000.00", "meetings": "10000.01"})
    assert ("total_over_budget", None) in codes(flags)
    assert ("category_over_budget", "meetings") in codes(flags)


def test_spending_more_than_was_received_is_a_warning_and_a_balance_is_information():
    flags = review_final_accounts(budget_amount=D("100000.00"), plan=PLAN, spending={"travel": "30000.00"},
                                  disbursed=D("20000.00"))
    assert [(f.code, f.severity) for f in flags] == [("spent_more_than_received", "warning")]
    flags = review_final_accounts(budget_amount=D("100000.00"), plan=PLAN, spending={"travel": "1000.00"})
    assert [(f.code, f.details["balance"]) for f in flags] == [("unspent_balance", "99000.00")]
    assert not has_errors(flags)


def test_unknown_categories_bad_amounts_and_oversized_plans_are_refused():
    with pytest.raises(ValidationFailed) as err:
        review_final_accounts(budget_amount=D("100.00"), plan={"travel": "100.00"},
                              spending={"gifts": "1.00", "travel": 1.5, "meetings": "-1"})
    assert {d["code"] for d in err.value.details} == {"unknown_category", "invalid_amount", "negative_amount"}
    with pytest.raises(ValidationFailed) as err:
        review_final_accounts(budget_amount=D("100.00"), plan={"travel": "100.01"}, spending={})
    assert err.value.details[0]["code"] == "plan_exceeds_budget"


def test_flags_carry_chinese_category_labels_for_officers():
    assert CATEGORIES["expert_fees"] == "专家劳务费" and CATEGORIES["other"] == "其他"
    flag = review_final_accounts(budget_amount=D("10.00"), plan={}, spending={"other": "1.00"})[0]
    assert flag.to_dict()["category_label"] == "其他"
