"""Withdrawing a budget: what blocks it, what is cancelled, and what a budget being withdrawn refuses."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from grassroots.errors import Conflict, ValidationFailed
from funding.domain import withdrawal as wd
from funding.domain.disbursement import Disbursement, Status

NOW = datetime(2025, 5, 1, tzinfo=timezone.utc)


def tranche(id, status, amount="10000.00", returned="0.00"):
    return Disbursement(id=id, budget_id="b1", amount=Decimal(amount), status=status, requested_by="alice",
                        requested_at=NOW, returned_amount=Decimal(returned))


def test_only_requested_tranches_mean_no_money_moved_and_they_are_cancelled():
    items = [tranche("r1", Status.REQUESTED), tranche("r2", Status.REQUESTED, "5000.00"),
             tranche("x", Status.REJECTED), tranche("f", Status.FAILED), tranche("c", Status.CANCELLED)]
    plan = wd.plan_withdrawal(items)
    assert not plan.blocked and plan.outstanding == Decimal("0")
    assert [d.id for d in plan.cancel] == ["r1", "r2"]


def test_an_approved_or_paid_tranche_blocks_and_counts_as_outstanding():
    items = [tranche("a", Status.APPROVED, "30000.00"), tranche("p", Status.PAID, "20000.00"),
             tranche("r", Status.REQUESTED)]
    plan = wd.plan_withdrawal(items)
    assert plan.blocked and [d.id for d in plan.blocking] == ["a", "p"]
    assert plan.outstanding == Decimal("50000.00") and [d.id for d in plan.cancel] == ["r"]


def test_paid_money_blocks_until_all_of_it_is_returned():
    part = wd.plan_withdrawal([tranche("p", Status.RETURNED, "20000.00", returned="19999.99")])
    assert part.blocked and part.outstanding == Decimal("0.01")
    whole = wd.plan_withdrawal([tranche("p", Status.RETURNED, "20000.00", returned="20000.00")])
    assert not whole.blocked and whole.cancel == ()


def test_a_requested_tranche_is_cancelled_by_whoever_made_the_decision_with_the_reason():
    d = wd.cancel_for_withdrawal(tranche("r", Status.REQUESTED), by="po-2", reason=" 预算撤销：不予资助 ")
    assert (d.status, d.closed_by, d.closed_reason) == (Status.CANCELLED, "po-2", "预算撤销：不予资助")
    with pytest.raises(ValidationFailed):
        wd.cancel_for_withdrawal(tranche("r", Status.REQUESTED), by="po-2", reason=" ")
    with pytest.raises(Conflict) as err:
        wd.cancel_for_withdrawal(tranche("p", Status.PAID), by="po-2", reason="不予资助")
    assert err.value.code == "invalid_transition"


@pytest.mark.parametrize("status, code", [("withdrawn", "budget_withdrawn"),
                                          ("withdrawal_blocked", "budget_withdrawal_pending")])
def test_a_budget_being_withdrawn_takes_no_new_commitment(status, code):
    with pytest.raises(Conflict) as err:
        wd.require_open(status, "b1")
    assert err.value.code == code and "不予资助" in err.value.message
    wd.require_open("active", "b1")
    wd.require_open("awaiting_amount", "b1")
