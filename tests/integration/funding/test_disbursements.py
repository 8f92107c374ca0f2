"""Budgets from review's events and disbursements through the running service, on PostgreSQL with the
guards installed and the service connected as its application role."""
from __future__ import annotations

import uuid
from decimal import Decimal

import eventlet
import pytest
import sqlalchemy as sa

from grassroots.errors import Conflict, Forbidden, ValidationFailed
from funding_helpers import AUDITOR, BANK, CALL, FO_A, FO_B, OFFICER, UNIT_NAME, chain, selection_payload


def key():
    return uuid.uuid4().hex


def test_a_selection_with_funding_creates_one_budget_with_its_allocation_and_tells_the_unit(funding):
    payload = selection_payload(amount="150000.00")
    env = funding.publish("application_selected", payload)
    app_id = payload["application"]["id"]
    budget = funding.wait(lambda: (funding.budgets_of(app_id) or [None])[0], what="budget")
    assert (budget["amount"], budget["source"], budget["status"]) == ("150000.00", "department", "active")
    assert budget["bank_account"]["account_number"] == "6222021234567890123" and budget["bank_problems"] is None
    # redelivery of the same event, and another event for the same application and source: still one budget
    funding.publish("application_selected", payload, event_id=env["id"])
    funding.publish("application_selected", payload)
    eventlet.sleep(1.5)
    assert len(funding.budgets_of(app_id)) == 1
    with funding.owner.connect() as conn:
        legs = conn.execute(sa.text("SELECT account, amount FROM ledger_entry WHERE budget_id = :b ORDER BY amount"),
                            {"b": budget["id"]}).all()
    assert legs == [("source:department", Decimal("-150000.00")), (f"budget:{budget['id']}:allocated",
                                                                   Decimal("150000.00"))]
    created = [e for e in funding.events("budget_created") if e["payload"]["budget"]["id"] == budget["id"]]
    assert len(created) == 1
    p = created[0]["payload"]
    assert p["amount"] == "150000.00" and p["call"]["doc_no"] == CALL["doc_no"]
    assert p["recipients"]["unit_contacts"][0]["name"] == "王敏" and "form" not in p["application"]


def test_a_selection_without_funding_creates_no_budget(funding):
    payload = selection_payload(amount=False)
    funding.publish("application_selected", payload)
    marker = funding.select()   # a later event is handled after the first one
    assert marker and funding.budgets_of(payload["application"]["id"]) == []


def test_a_budget_awaiting_its_amount_takes_no_disbursement_until_an_officer_sets_it(funding):
    budget = funding.select(amount=None)
    assert (budget["status"], budget["amount"]) == ("awaiting_amount", None)
    assert funding.events("budget_created") == []
    with pytest.raises(Conflict) as err:
        funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "1.00", "idempotency_key": key()})
    assert err.value.code == "budget_awaiting_amount"
    with pytest.raises(Forbidden):
        funding.call(AUDITOR, "set_budget_amount", budget["id"], {"amount": "80000.00"})
    set_ = funding.call(OFFICER, "set_budget_amount", budget["id"], {"amount": "80000.00", "reason": "按资助标准核定"})
    assert (set_["status"], set_["amount"]) == ("active", "80000.00")
    assert len(funding.events("budget_created")) == 1
    actions = [r["action"] for r in funding.chain() if r["budget_id"] and str(r["budget_id"]) == budget["id"]]
    assert actions == ["budget_created", "budget_amount_set", "funds_allocated"]


def test_a_ministry_approval_with_funding_creates_a_ministry_budget_and_a_refusal_none(funding):
    approved = selection_payload(amount="300000.00", source="ministry")
    approved.update(approved=True, doc_ref="人社厅函〔2025〕12号")
    refused = selection_payload(amount="300000.00", source="ministry")
    refused.update(approved=False, doc_ref="人社厅函〔2025〕13号")
    funding.publish("ministry_decided", refused)
    funding.publish("ministry_decided", approved)
    app_id = approved["application"]["id"]
    budget = funding.wait(lambda: (funding.budgets_of(app_id) or [None])[0], what="ministry budget")
    assert (budget["source"], budget["amount"]) == ("ministry", "300000.00")
    assert funding.budgets_of(refused["application"]["id"]) == []


def test_the_proposer_cannot_approve_their_own_payment_even_by_direct_rpc(funding):
    budget = funding.select()
    d = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "50000.00", "idempotency_key": key()})
    with pytest.raises(Forbidden) as err:
        funding.call(FO_A, "approve_disbursement", d["id"], "我自己批")
    assert err.value.code == "four_eyes_violation"
    with funding.owner.connect() as conn:
        assert conn.execute(sa.text("SELECT status, approved_by FROM disbursement WHERE id = :i"),
                            {"i": d["id"]}).one() == ("requested", None)
    # a programme officer or the system is not a finance officer either
    with pytest.raises(Forbidden):
        funding.call(OFFICER, "approve_disbursement", d["id"], "")
    approved = funding.call(FO_B, "approve_disbursement", d["id"], "材料齐全")
    assert (approved["status"], approved["approved_by"]) == ("approved", "fo-b")


def test_the_same_idempotency_key_returns_the_first_result_and_another_body_gets_409(funding):
    budget = funding.select(amount="100000.00")
    k = key()
    first = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "40000.00", "purpose": "首批",
                                                                      "idempotency_key": k})
    again = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "40000", "purpose": "首批",
                                                                      "idempotency_key": k})
    assert again["id"] == first["id"] and again["replayed"] is True
    with pytest.raises(Conflict) as err:
        funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "45000.00", "purpose": "首批",
                                                                  "idempotency_key": k})
    assert (err.value.code, err.value.status) == ("idempotency_key_reused", 409)
    assert funding.call(FO_A, "get_budget", budget["id"])["committed"] == "40000.00"
    with pytest.raises(ValidationFailed) as err:
        funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "1.00"})
    assert err.value.code == "idempotency_key_invalid"


def test_100_parallel_requests_to_two_replicas_never_overdraw_a_budget(make_funding):
    funding = make_funding(replicas=2)
    budget = funding.select(amount="1000.00")
    proxy = funding.proxy(FO_A)
    pending = [proxy.request_disbursement.call_async(budget["id"], {"amount": "30.00", "idempotency_key": key()})
               for _ in range(100)]
    accepted, refused = 0, []
    for p in pending:
        try:
            p.result()
            accepted += 1
        except Exception as exc:  # noqa: BLE001 - counted below
            refused.append(exc)
    assert accepted == 33, (accepted, refused[:3])
    assert len(refused) == 67 and all("budget_exceeded" in str(e) for e in refused)
    with funding.owner.connect() as conn:
        total = conn.execute(sa.text("SELECT sum(amount) FROM disbursement WHERE budget_id = :b"),
                             {"b": budget["id"]}).scalar()
    assert total == Decimal("990.00")
    assert chain.verify_chain(funding.chain()).ok


def test_paid_failed_and_returned_move_the_ledger_and_announce_themselves(funding):
    budget = funding.select(amount="100000.00")
    d1 = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "60000.00", "idempotency_key": key()})
    d2 = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "40000.00", "idempotency_key": key()})
    assert (d1["tranche"], d2["tranche"]) == (1, 2)
    for d in (d1, d2):
        funding.call(FO_B, "approve_disbursement", d["id"], "")
    paid = funding.call(FO_A, "mark_paid", d1["id"], "ICBC-20250401-0001")
    assert (paid["status"], paid["bank_reference"]) == ("paid", "ICBC-20250401-0001")
    failed = funding.call(FO_A, "mark_failed", d2["id"], "账户状态异常，银行退票")
    assert failed["status"] == "failed"
    back = funding.call(FO_A, "record_return", d1["id"], {"amount": "10000.00", "bank_reference": "ICBC-R-1",
                                                          "reason": "结余退回"})
    assert (back["status"], back["returned_amount"], back["net_amount"]) == ("returned", "10000.00", "50000.00")
    b = funding.call(FO_A, "get_budget", budget["id"])
    assert (b["committed"], b["disbursed"], b["available"]) == ("50000.00", "50000.00", "50000.00")
    with funding.owner.connect() as conn:
        balances = dict(conn.execute(sa.text("SELECT account, sum(amount) FROM ledger_entry WHERE budget_id = :b "
                                             "GROUP BY account"), {"b": budget["id"]}).all())
        unbalanced = conn.execute(sa.text("SELECT count(*) FROM (SELECT transfer_id FROM ledger_entry "
                                          "GROUP BY transfer_id HAVING sum(amount) <> 0) x")).scalar()
    assert balances[f"budget:{budget['id']}:disbursed"] == Decimal("50000.00")
    assert balances["bank:clearing"] == Decimal("-50000.00") and unbalanced == 0
    assert [e["payload"]["bank_ref"] for e in funding.events("disbursement_paid")] == ["ICBC-20250401-0001"]
    assert funding.events("disbursement_failed")[0]["payload"]["reason"] == "账户状态异常，银行退票"
    assert funding.events("funds_returned")[0]["payload"]["amount"] == "10000.00"
    assert len(funding.events("disbursement_approved")) == 2 and len(funding.events("disbursement_requested")) == 2
    with pytest.raises(Conflict) as err:
        funding.call(FO_A, "record_return", d1["id"], {"amount": "50000.01", "bank_reference": "X"})
    assert err.value.code == "return_exceeds_paid"


def test_an_account_failing_the_checks_blocks_approval_until_replaced_and_is_frozen_at_first_approval(funding):
    wrong = dict(BANK, account_name="某某科技有限公司", interbank_code="10219100001")
    budget = funding.select(form=wrong)
    assert {p["code"] for p in budget["bank_problems"]} == {"account_name_mismatch", "interbank_code_invalid"}
    d = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "1000.00", "idempotency_key": key()})
    with pytest.raises(Conflict) as err:
        funding.call(FO_B, "approve_disbursement", d["id"], "")
    assert err.value.code == "bank_account_invalid"
    right = {"interbank_code": "102191000011", "account_number": "6222021234567890123",
             "account_name": UNIT_NAME, "bank_name": "中国工商银行呼和浩特新城支行"}
    replaced = funding.call(FO_A, "change_bank_account", budget["id"], {"bank_account": right})
    assert replaced["bank_problems"] is None and replaced["bank_frozen"] is False
    approved = funding.call(FO_B, "approve_disbursement", d["id"], "")
    assert approved["bank_account"]["account_number"] == "6222021234567890123"
    assert funding.call(FO_A, "get_budget", budget["id"])["bank_frozen"] is True
    # after the freeze a change is only a proposal until a second finance officer approves it
    other = dict(right, account_number="6222029999999999999")
    pending = funding.call(FO_A, "change_bank_account", budget["id"], {"bank_account": other, "reason": "单位更换基本户"})
    assert pending["bank_pending"]["account"]["account_number"] == "6222029999999999999"
    assert pending["bank_account"]["account_number"] == "6222021234567890123"
    with pytest.raises(Forbidden) as err:
        funding.call(FO_A, "approve_bank_account_change", budget["id"], "")
    assert err.value.code == "four_eyes_violation"
    changed = funding.call(FO_B, "approve_bank_account_change", budget["id"], "核对开户证明")
    assert changed["bank_account"]["account_number"] == "6222029999999999999" and changed["bank_pending"] is None
    # the tranche approved for the old account cannot be paid to it any more
    with pytest.raises(Conflict) as err:
        funding.call(FO_A, "mark_paid", d["id"], "ICBC-1")
    assert err.value.code == "bank_account_changed"


def test_final_accounts_flag_spending_over_a_category_and_outside_the_earmark(funding):
    budget = funding.select(amount="100000.00")
    unit = {"id": "unit-user", "role": "applicant_unit", "unit_id": "u-1", "username": "u1"}
    other_unit = {"id": "unit-2", "role": "applicant_unit", "unit_id": "u-2", "username": "u2"}
    with pytest.raises(Conflict):
        funding.call(unit, "submit_final_accounts", budget["id"], {"spending": {"travel": "1.00"}})
    funding.call(FO_A, "set_budget_plan", budget["id"], {"plan": {"expert_fees": "60000.00", "travel": "40000.00"}})
    with pytest.raises(Forbidden):
        funding.call(other_unit, "submit_final_accounts", budget["id"], {"spending": {"travel": "1.00"}})
    report = funding.call(unit, "submit_final_accounts", budget["id"], {
        "spending": {"expert_fees": "65000.00", "travel": "20000.00", "printing": "3000.00"}, "note": "活动已完成"})
    codes = {f["code"] for f in report["flags"]}
    assert {"category_over_budget", "outside_earmark"} <= codes and report["flagged"] is True
    seen = funding.call(AUDITOR, "final_accounts", {"flagged": "1"})
    assert [i["budget_id"] for i in seen["items"]] == [budget["id"]] and seen["flagged"] == 1


def test_a_budget_correction_is_a_reversing_entry_and_never_goes_below_what_is_committed(funding):
    budget = funding.select(amount="100000.00")
    funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "70000.00", "idempotency_key": key()})
    with pytest.raises(ValidationFailed):
        funding.call(FO_A, "set_budget_amount", budget["id"], {"amount": "90000.00"})
    with pytest.raises(Conflict) as err:
        funding.call(FO_A, "set_budget_amount", budget["id"], {"amount": "69999.99", "reason": "调减"})
    assert err.value.code == "budget_below_committed"
    corrected = funding.call(FO_A, "set_budget_amount", budget["id"], {"amount": "90000.00", "reason": "按批复调减"})
    assert corrected["amount"] == "90000.00"
    with funding.owner.connect() as conn:
        kinds = conn.execute(sa.text("SELECT kind FROM ledger_transfer WHERE budget_id = :b ORDER BY created_at"),
                             {"b": budget["id"]}).scalars().all()
        allocated = conn.execute(sa.text("SELECT sum(amount) FROM ledger_entry WHERE account = :a"),
                                 {"a": f"budget:{budget['id']}:allocated"}).scalar()
    assert kinds == ["allocation", "reversal", "allocation"] and allocated == Decimal("90000.00")
