from decimal import Decimal

import pytest

from grassroots.errors import Conflict, ValidationFailed
from funding.domain import ledger
from funding.domain.ledger import Leg

D = Decimal


def test_legs_that_do_not_balance_are_refused():
    with pytest.raises(ValidationFailed) as err:
        ledger.check_legs([Leg("source:ministry", D("-100.00")), Leg("budget:b1:allocated", D("99.99"))])
    assert "unbalanced_transfer" in {d["code"] for d in err.value.details}


def test_a_transfer_needs_two_legs_none_of_them_zero():
    with pytest.raises(ValidationFailed) as err:
        ledger.check_legs([Leg("source:ministry", D("0.00"))])
    assert {d["code"] for d in err.value.details} >= {"too_few_legs", "zero_leg"}


def test_leg_amounts_must_be_exact_cents_on_known_accounts():
    with pytest.raises(ValidationFailed) as err:
        ledger.check_legs([Leg("cash", D("1.00")), Leg("bank:clearing", D("-1.001"))])
    assert {d["code"] for d in err.value.details} >= {"unknown_account", "invalid_leg_amount"}


def test_allocation_payment_and_return_each_balance_and_move_the_right_accounts():
    a = ledger.allocation(id="t1", budget_id="b1", source="ministry", amount=D("100000.00"))
    p = ledger.payment(id="t2", budget_id="b1", amount=D("40000.00"), bank_reference="HX1")
    r = ledger.funds_returned(id="t3", budget_id="b1", amount=D("5000.00"), bank_reference="HX2")
    for t in (a, p, r):
        assert sum(l.amount for l in t.legs) == 0
    bal = ledger.balances(l for t in (a, p, r) for l in t.legs)
    assert bal["source:ministry"] == D("-100000.00")
    assert bal["budget:b1:disbursed"] == D("35000.00")
    assert bal["bank:clearing"] == D("-35000.00")
    assert ledger.available("b1", bal) == D("65000.00")
    assert p.memo == "HX1"


def test_a_correction_is_a_reversing_entry_that_cancels_the_original():
    a = ledger.allocation(id="t1", budget_id="b1", source="department", amount=D("500.00"))
    rev = ledger.reversal(a, id="t2", memo="来源录错")
    assert rev.reverses == "t1" and rev.kind == "reversal"
    assert all(v == 0 for v in ledger.balances([*a.legs, *rev.legs]).values())
    with pytest.raises(Conflict) as err:
        ledger.reversal(a, id="t3", memo="again", already_reversed={"t1"})
    assert err.value.code == "transfer_already_reversed"
    with pytest.raises(ValidationFailed):
        ledger.reversal(a, id="t4", memo="")


def test_unknown_sources_and_non_positive_amounts_are_refused():
    with pytest.raises(ValidationFailed) as err:
        ledger.allocation(id="t", budget_id="b1", source="bank", amount=D("1.00"))
    assert err.value.code == "unknown_funding_source"
    with pytest.raises(ValidationFailed):
        ledger.payment(id="t", budget_id="b1", amount=D("-1.00"), bank_reference="x")


def test_a_transfer_serialises_with_amounts_as_strings():
    t = ledger.allocation(id="t1", budget_id="b1", source="ministry", amount=D("1.50")).to_dict()
    assert t["legs"] == [{"account": "budget:b1:allocated", "amount": "1.50"},
                         {"account": "source:ministry", "amount": "-1.50"}]
