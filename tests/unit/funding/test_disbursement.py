from datetime import datetime, timezone
from decimal import Decimal

import pytest

from grassroots.errors import Conflict, Forbidden, ValidationFailed
from funding.domain import disbursement as dis
from funding.domain.actors import Actor
from funding.domain.disbursement import Status

NOW = datetime(2025, 5, 1, tzinfo=timezone.utc)
ALICE = Actor("alice", "finance_officer")
BOB = Actor("bob", "finance_officer")
BUDGET = Decimal("100000.00")


def requested(amount="40000.00", id="d1", existing=()):
    return dis.request(id=id, budget_id="b1", budget_amount=BUDGET, existing=existing, amount=Decimal(amount),
                       requester=ALICE, at=NOW)


def test_a_proposer_cannot_approve_their_own_payment():
    d = requested()
    with pytest.raises(Forbidden) as err:
        dis.approve(d, approver=ALICE, at=NOW, budget_amount=BUDGET, existing=[d])
    assert err.value.code == "four_eyes_violation"
    assert "同一人" in err.value.message


def test_a_second_finance_officer_approves_and_it_is_paid_with_the_bank_reference():
    d = requested()
    approved = dis.approve(d, approver=BOB, at=NOW, budget_amount=BUDGET, existing=[d])
    assert (approved.status, approved.approved_by) == (Status.APPROVED, "bob")
    paid = dis.mark_paid(approved, actor=ALICE, at=NOW, bank_reference=" HX20250501001 ")
    assert (paid.status, paid.bank_reference) == (Status.PAID, "HX20250501001")


def test_only_finance_officers_request_and_approve():
    with pytest.raises(Forbidden):
        dis.request(id="d", budget_id="b1", budget_amount=BUDGET, existing=(), amount=Decimal("1.00"),
                    requester=Actor("x", "programme_officer"), at=NOW)
    d = requested()
    with pytest.raises(Forbidden):
        dis.approve(d, approver=Actor("aud", "auditor"), at=NOW, budget_amount=BUDGET, existing=[d])


def test_tranches_may_not_exceed_the_budget():
    first = requested("60000.00", "d1")
    second = requested("40000.00", "d2", existing=[first])
    with pytest.raises(Conflict) as err:
        requested("0.01", "d3", existing=[first, second])
    assert err.value.code == "budget_exceeded"
    assert err.value.details["remaining"] == "0.00"


def test_approval_rechecks_the_budget_so_an_overdraw_cannot_slip_through():
    # two requests that were written without the check (e.g. by an older version) together exceed the budget
    a = dis.Disbursement("a", "b1", Decimal("70000.00"), Status.APPROVED, "alice", NOW, approved_by="bob")
    b = dis.Disbursement("b", "b1", Decimal("40000.00"), Status.REQUESTED, "alice", NOW)
    with pytest.raises(Conflict) as err:
        dis.approve(b, approver=BOB, at=NOW, budget_amount=BUDGET, existing=[a, b])
    assert err.value.code == "budget_exceeded"


def test_returned_failed_rejected_and_cancelled_money_frees_the_budget():
    d1 = dis.approve(requested("100000.00"), approver=BOB, at=NOW, budget_amount=BUDGET, existing=[])
    d1 = dis.mark_paid(d1, actor=ALICE, at=NOW, bank_reference="r1")
    d1 = dis.record_return(d1, actor=ALICE, amount=Decimal("30000.00"))
    assert (d1.status, d1.net_amount) == (Status.RETURNED, Decimal("70000.00"))
    assert dis.remaining(BUDGET, [d1]) == Decimal("30000.00")
    d2 = requested("30000.00", "d2", existing=[d1])
    for closed in (dis.mark_failed(dis.approve(d2, approver=BOB, at=NOW, budget_amount=BUDGET, existing=[d1, d2]),
                                   actor=ALICE, reason="账户异常"),
                   dis.reject(d2, actor=BOB, reason="材料不全"),
                   dis.cancel(d2, actor=ALICE, reason="重复申请")):
        assert dis.remaining(BUDGET, [d1, closed]) == Decimal("30000.00")
    assert dis.remaining(BUDGET, [d1, d2]) == Decimal("0.00")


def test_returns_are_partial_or_full_but_never_more_than_paid():
    d = dis.mark_paid(dis.approve(requested("100.00"), approver=BOB, at=NOW, budget_amount=BUDGET, existing=[]),
                      actor=ALICE, at=NOW, bank_reference="r")
    d = dis.record_return(d, actor=ALICE, amount=Decimal("60.00"))
    d = dis.record_return(d, actor=ALICE, amount=Decimal("40.00"))
    assert d.returned_amount == Decimal("100.00")
    with pytest.raises(Conflict) as err:
        dis.record_return(d, actor=ALICE, amount=Decimal("0.01"))
    assert err.value.code == "return_exceeds_paid"


@pytest.mark.parametrize("step", [
    lambda d: dis.mark_paid(d, actor=ALICE, at=NOW, bank_reference="r"),
    lambda d: dis.mark_failed(d, actor=ALICE, reason="x"),
    lambda d: dis.record_return(d, actor=ALICE, amount=Decimal("1.00")),
], ids=["pay", "fail", "return"])
def test_a_requested_disbursement_cannot_skip_approval(step):
    with pytest.raises(Conflict) as err:
        step(requested())
    assert err.value.code == "invalid_transition"


def test_finished_disbursements_do_not_move_again():
    d = dis.reject(requested(), actor=BOB, reason="不符合条件")
    with pytest.raises(Conflict):
        dis.approve(d, approver=BOB, at=NOW, budget_amount=BUDGET, existing=[d])
    paid = dis.mark_paid(dis.approve(requested(), approver=BOB, at=NOW, budget_amount=BUDGET, existing=[]),
                         actor=ALICE, at=NOW, bank_reference="r")
    with pytest.raises(Conflict):
        dis.cancel(paid, actor=ALICE, reason="x")


def test_the_requester_cannot_reject_their_own_request_but_may_cancel_it():
    d = requested()
    with pytest.raises(Forbidden):
        dis.reject(d, actor=ALICE, reason="x")
    assert dis.cancel(d, actor=ALICE, reason="撤回").status == Status.CANCELLED


def test_reasons_and_bank_references_are_required():
    approved = dis.approve(requested(), approver=BOB, at=NOW, budget_amount=BUDGET, existing=[])
    with pytest.raises(ValidationFailed):
        dis.mark_paid(approved, actor=ALICE, at=NOW, bank_reference=" ")
    with pytest.raises(ValidationFailed):
        dis.mark_failed(approved, actor=ALICE, reason="")


def test_a_non_positive_amount_is_refused():
    with pytest.raises(ValidationFailed):
        requested("0.00")


def test_a_disbursement_serialises_to_json_able_values():
    d = requested().to_dict()
    assert d["amount"] == "40000.00" and d["status"] == "requested" and d["requested_at"].startswith("2025-05-01")
