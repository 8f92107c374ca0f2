"""A ministry approval corrected into a refusal withdraws the ministry budget: requested tranches cancelled, the
allocation reversed (never edited), recorded and announced; with money already out the budget waits for
finance officers instead, its money untouched, and is withdrawn when the money is back. Redelivered and
repeated refusals change nothing more; a refusal corrected back into an approval grants the budget again.
On PostgreSQL with the guards, the service connected as its application role."""
from __future__ import annotations

import copy
import uuid
from decimal import Decimal

import eventlet
import pytest
import sqlalchemy as sa

from grassroots.errors import Conflict
from funding_helpers import FO_A, FO_B, OFFICER, selection_payload

REASON = "经核实，该项目申报单位不符合部级资助条件，部里来函更正为不予资助"


def key():
    return uuid.uuid4().hex


def approval(application_id=None, amount="300000.00"):
    p = selection_payload(application_id=application_id, amount=amount, source="ministry")
    p.update(approved=True, doc_ref="人社厅函〔2025〕12号", correction=False, correction_reason=None, previous=None)
    return p


def refusal_correction(approved_payload):
    p = copy.deepcopy(approved_payload)
    p.update(approved=False, doc_ref="人社厅函〔2025〕30号", correction=True, correction_reason=REASON, funding=None,
             previous={"approved": True, "document_ref": "人社厅函〔2025〕12号", "decided_on": "2025-04-01",
                       "reason": REASON})
    return p


def handled(funding, event_id):
    with funding.owner.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM inbox WHERE event_id = :e"), {"e": event_id}).scalar()


def publish_and_wait(funding, event_type, payload, event_id=None):
    env = funding.publish(event_type, payload, event_id)
    funding.wait(lambda: handled(funding, env["id"]), what=f"{event_type} {env['id']} handled")
    return env


def ministry_budget(funding, app_id):
    return next((b for b in funding.budgets_of(app_id) if b["source"] == "ministry"), None)


def granted(funding, amount="300000.00"):
    payload = approval(amount=amount)
    publish_and_wait(funding, "ministry_decided", payload)
    budget = ministry_budget(funding, payload["application"]["id"])
    assert budget["status"] == "active" and budget["amount"] == amount
    return payload, budget


def balances(funding, budget_id):
    with funding.owner.connect() as conn:
        return dict(conn.execute(sa.text("SELECT account, sum(amount) FROM ledger_entry WHERE budget_id = :b "
                                         "GROUP BY account"), {"b": budget_id}).all())


def transfers(funding, budget_id):
    with funding.owner.connect() as conn:
        return conn.execute(sa.text("SELECT id::text, kind, reverses::text FROM ledger_transfer WHERE budget_id = :b "
                                    "ORDER BY created_at"), {"b": budget_id}).all()


def audit_of(funding, budget_id, action):
    return [r for r in funding.chain() if r["budget_id"] and str(r["budget_id"]) == budget_id and r["action"] == action]


def events_of(funding, event_type, budget_id):
    return [e for e in funding.events(event_type) if e["payload"]["budget"]["id"] == budget_id]


def test_a_refusal_withdraws_the_ministry_budget_cancels_requests_and_reverses_its_allocation(funding):
    payload, budget = granted(funding)
    app_id = payload["application"]["id"]
    publish_and_wait(funding, "application_selected", selection_payload(application_id=app_id, amount="100000.00"))
    department = next(b for b in funding.budgets_of(app_id) if b["source"] == "department")
    requested = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "80000.00", "purpose": "首批",
                                                                          "idempotency_key": key()})
    assert balances(funding, budget["id"])[f"budget:{budget['id']}:allocated"] == Decimal("300000.00")

    correction = publish_and_wait(funding, "ministry_decided", refusal_correction(payload))

    after = funding.call(FO_A, "get_budget", budget["id"])
    assert (after["status"], after["amount"], after["available"]) == ("withdrawn", "300000.00", "0.00")
    assert after["withdrawal"]["reason"] == REASON and after["withdrawal"]["event_id"] == correction["id"]
    # the ledger: a reversing transfer of the allocation, every account of the budget back to zero
    kinds = transfers(funding, budget["id"])
    assert [k for _, k, _ in kinds] == ["allocation", "reversal"] and kinds[1][2] == kinds[0][0]
    assert set(balances(funding, budget["id"]).values()) == {Decimal("0.00")}
    # the requested tranche is cancelled with the reason; nothing new can be committed
    d = funding.call(FO_A, "get_disbursement", requested["id"])
    assert d["status"] == "cancelled" and REASON in d["closed_reason"] and d["closed_by"] == "po-2"
    with pytest.raises(Conflict) as err:
        funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "1.00", "idempotency_key": key()})
    assert err.value.code == "budget_withdrawn"
    with pytest.raises(Conflict):
        funding.call(OFFICER, "set_budget_amount", budget["id"], {"amount": "200000.00", "reason": "调整"})
    # who and why, in the audit chain; the event tells the people concerned and finance officers
    [record] = audit_of(funding, budget["id"], "budget_withdrawn")
    assert (record["actor_id"], record["actor_role"], record["reason"]) == ("po-2", "programme_officer", REASON)
    assert record["data"]["cancelled"] == [requested["id"]]
    assert len(audit_of(funding, budget["id"], "transfer_reversed")) == 1
    [event] = events_of(funding, "budget_withdrawn", budget["id"])
    p = event["payload"]
    assert (p["amount"], p["source"], p["reason"]) == ("300000.00", "ministry", REASON)
    assert p["application"]["id"] == app_id and p["call"]["doc_no"] and p["recipients"]["unit_contacts"]
    assert [c["id"] for c in p["cancelled_disbursements"]] == [requested["id"]]
    # the department's budget for the same project is not the ministry's to take back
    assert funding.call(FO_A, "get_budget", department["id"])["status"] == "active"


def test_with_money_paid_the_withdrawal_is_blocked_the_money_untouched_until_it_comes_back(funding):
    payload, budget = granted(funding)
    paid = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "50000.00", "idempotency_key": key()})
    funding.call(FO_B, "approve_disbursement", paid["id"], "")
    funding.call(FO_A, "mark_paid", paid["id"], "ICBC-20250401-0009")
    pending = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "20000.00",
                                                                        "idempotency_key": key()})
    ledger_before = balances(funding, budget["id"])

    publish_and_wait(funding, "ministry_decided", refusal_correction(payload))

    after = funding.call(FO_A, "get_budget", budget["id"])
    assert (after["status"], after["amount"], after["available"]) == ("withdrawal_blocked", "300000.00", "0.00")
    assert after["withdrawal"]["outstanding"] == "50000.00"
    assert funding.call(FO_A, "get_disbursement", paid["id"])["status"] == "paid"
    assert funding.call(FO_A, "get_disbursement", pending["id"])["status"] == "cancelled"
    assert balances(funding, budget["id"]) == ledger_before          # no money touched, nothing reversed
    assert "reversal" not in [k for _, k, _ in transfers(funding, budget["id"])]
    [event] = events_of(funding, "budget_withdrawal_blocked", budget["id"])
    assert (event["payload"]["outstanding"], event["payload"]["reason"]) == ("50000.00", REASON)
    assert [d["id"] for d in event["payload"]["disbursements"]] == [paid["id"]]
    assert events_of(funding, "budget_withdrawn", budget["id"]) == []
    [record] = audit_of(funding, budget["id"], "budget_withdrawal_blocked")
    assert record["reason"] == REASON and record["data"]["outstanding"] == "50000.00"
    with pytest.raises(Conflict) as err:
        funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "1.00", "idempotency_key": key()})
    assert err.value.code == "budget_withdrawal_pending"

    # finance officers get the money back: part of it changes nothing, the last of it completes the withdrawal
    funding.call(FO_A, "record_return", paid["id"], {"amount": "20000.00", "bank_reference": "ICBC-R-1"})
    assert funding.call(FO_A, "get_budget", budget["id"])["status"] == "withdrawal_blocked"
    funding.call(FO_B, "record_return", paid["id"], {"amount": "30000.00", "bank_reference": "ICBC-R-2"})
    done = funding.call(FO_A, "get_budget", budget["id"])
    assert done["status"] == "withdrawn"
    assert set(balances(funding, budget["id"]).values()) == {Decimal("0.00")}
    [record] = audit_of(funding, budget["id"], "budget_withdrawn")
    assert (record["actor_id"], record["reason"]) == ("fo-b", REASON)
    assert len(events_of(funding, "budget_withdrawn", budget["id"])) == 1


def test_an_approved_payment_that_fails_lets_the_blocked_withdrawal_complete(funding):
    payload, budget = granted(funding, amount="90000.00")
    d = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "30000.00", "idempotency_key": key()})
    funding.call(FO_B, "approve_disbursement", d["id"], "")
    publish_and_wait(funding, "ministry_decided", refusal_correction(payload))
    assert funding.call(FO_A, "get_budget", budget["id"])["status"] == "withdrawal_blocked"
    funding.call(FO_A, "mark_failed", d["id"], "银行退票：账户已销户")
    assert funding.call(FO_A, "get_budget", budget["id"])["status"] == "withdrawn"
    assert set(balances(funding, budget["id"]).values()) == {Decimal("0.00")}


def test_redelivered_and_repeated_refusals_withdraw_once_and_block_once(funding):
    payload, budget = granted(funding)
    refusal = refusal_correction(payload)
    env = publish_and_wait(funding, "ministry_decided", refusal)
    funding.publish("ministry_decided", refusal, event_id=env["id"])   # the broker delivers it again
    publish_and_wait(funding, "ministry_decided", refusal)            # review publishes it again, new id
    eventlet.sleep(1.0)
    assert funding.call(FO_A, "get_budget", budget["id"])["status"] == "withdrawn"
    assert [k for _, k, _ in transfers(funding, budget["id"])] == ["allocation", "reversal"]
    assert len(audit_of(funding, budget["id"], "budget_withdrawn")) == 1
    assert len(events_of(funding, "budget_withdrawn", budget["id"])) == 1
    assert set(balances(funding, budget["id"]).values()) == {Decimal("0.00")}

    payload, budget = granted(funding)
    d = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "10000.00", "idempotency_key": key()})
    funding.call(FO_B, "approve_disbursement", d["id"], "")
    funding.call(FO_A, "mark_paid", d["id"], "ICBC-20250401-0010")
    refusal = refusal_correction(payload)
    env = publish_and_wait(funding, "ministry_decided", refusal)
    funding.publish("ministry_decided", refusal, event_id=env["id"])
    publish_and_wait(funding, "ministry_decided", refusal)
    eventlet.sleep(1.0)
    assert funding.call(FO_A, "get_budget", budget["id"])["status"] == "withdrawal_blocked"
    assert len(audit_of(funding, budget["id"], "budget_withdrawal_blocked")) == 1
    assert len(events_of(funding, "budget_withdrawal_blocked", budget["id"])) == 1


def test_a_refusal_corrected_into_an_approval_grants_the_budget_whether_or_not_it_existed(funding):
    # refused first (no budget), then corrected into an approval: the budget is created
    first = approval(amount="120000.00")
    refused = refusal_correction(first)
    refused.update(correction=False, correction_reason=None, previous=None)
    publish_and_wait(funding, "ministry_decided", refused)
    assert funding.budgets_of(first["application"]["id"]) == []
    corrected = copy.deepcopy(first)
    corrected.update(correction=True, correction_reason="复核后更正为批准",
                     previous={"approved": False, "reason": "复核后更正为批准"})
    publish_and_wait(funding, "ministry_decided", corrected)
    created = ministry_budget(funding, first["application"]["id"])
    assert (created["status"], created["amount"]) == ("active", "120000.00")

    # approved, withdrawn, approved again: the same budget is granted anew with a new allocation
    payload, budget = granted(funding)
    publish_and_wait(funding, "ministry_decided", refusal_correction(payload))
    again = copy.deepcopy(payload)
    again.update(correction=True, correction_reason="部里再次来函，恢复资助", funding={"amount": "250000.00",
                                                                              "source": "ministry"})
    publish_and_wait(funding, "ministry_decided", again)
    regranted = funding.call(FO_A, "get_budget", budget["id"])
    assert (regranted["status"], regranted["amount"], regranted["withdrawal"]) == ("active", "250000.00", None)
    assert [k for _, k, _ in transfers(funding, budget["id"])] == ["allocation", "reversal", "allocation"]
    assert balances(funding, budget["id"])[f"budget:{budget['id']}:allocated"] == Decimal("250000.00")
    assert len(events_of(funding, "budget_created", budget["id"])) == 2
    assert len(funding.budgets_of(payload["application"]["id"])) == 1
    funding.call(FO_A, "request_disbursement", budget["id"], {"amount": "1000.00", "idempotency_key": key()})


def test_a_decision_older_than_one_already_applied_is_ignored_and_audited(funding):
    """A retried delivery of the approval (revision 1) arriving after its correction into a refusal
    (revision 2) must not grant the budget again."""
    approved = approval(amount="180000.00")
    approved["revision"] = 1
    app_id = approved["application"]["id"]
    refusal = refusal_correction(approved)
    refusal["revision"] = 2
    publish_and_wait(funding, "ministry_decided", refusal)          # the correction is handled first
    assert funding.budgets_of(app_id) == []
    publish_and_wait(funding, "ministry_decided", approved)         # then the late original
    assert funding.budgets_of(app_id) == []
    ignored = [r for r in funding.chain() if r["action"] == "ministry_decision_ignored"]
    assert ignored and ignored[-1]["entity_id"] == app_id and ignored[-1]["data"]["applied_revision"] == 2
    newer = copy.deepcopy(approved)
    newer.update(revision=3, correction=True, correction_reason="再次更正为批准")
    publish_and_wait(funding, "ministry_decided", newer)            # a newer decision still applies
    assert ministry_budget(funding, app_id)["amount"] == "180000.00"
