"""The audit trail and the auditors' API on the running service: the service's own database role cannot
change ledger or audit rows, the database refuses unbalanced legs, an edited audit row is named by the
verifier, signed checkpoints reveal truncation, and every auditor query is itself recorded."""
from __future__ import annotations

import base64
import csv
import io
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from funding.models import LedgerEntry, LedgerTransfer
from funding_helpers import AUDITOR, FO_A, FO_B, chain
from grassroots.errors import ValidationFailed


def paid_disbursement(funding, pay="30000.00", **select):
    budget = funding.select(**select)
    d = funding.call(FO_A, "request_disbursement", budget["id"], {"amount": pay, "idempotency_key": uuid.uuid4().hex})
    funding.call(FO_B, "approve_disbursement", d["id"], "")
    funding.call(FO_A, "mark_paid", d["id"], f"BANK-{d['id'][:8]}")
    return budget, d


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entry SET amount = amount * 2", "DELETE FROM ledger_entry", "UPDATE ledger_transfer SET memo = 'x'",
    "DELETE FROM ledger_transfer", "UPDATE audit_record SET reason = 'x'", "DELETE FROM audit_record",
    "TRUNCATE audit_record CASCADE", "DELETE FROM audit_checkpoint", "UPDATE final_account SET note = 'x'",
    "DELETE FROM final_account"])
def test_the_service_database_role_cannot_update_or_delete_ledger_and_audit_rows(funding, statement):
    paid_disbursement(funding)
    funding.call({"id": "admin-1", "role": "admin"}, "sign_checkpoint")
    with funding.app.connect() as conn:
        assert conn.execute(sa.text("SELECT current_user")).scalar() == funding.app.url.username
        with pytest.raises(sa.exc.ProgrammingError) as err:
            conn.execute(sa.text(statement))
    assert err.value.orig.pgcode == "42501"   # insufficient_privilege


def test_the_database_refuses_a_transfer_whose_legs_do_not_balance(funding):
    budget = funding.select()
    with Session(funding.app) as s:
        tid = str(uuid.uuid4())
        s.add(LedgerTransfer(id=tid, kind="payment", budget_id=budget["id"], memo="绕过领域规则"))
        s.flush()
        s.add_all([LedgerEntry(transfer_id=tid, account=f"budget:{budget['id']}:disbursed",
                               amount=Decimal("100.00"), budget_id=budget["id"]),
                   LedgerEntry(transfer_id=tid, account="bank:clearing", amount=Decimal("-90.00"),
                               budget_id=budget["id"])])
        s.flush()   # each statement passes: the check is deferred to commit
        with pytest.raises(sa.exc.IntegrityError) as err:
            s.commit()
    assert err.value.orig.diag.constraint_name == "ledger_transfer_balanced"
    with funding.owner.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_transfer WHERE id = :i"), {"i": tid}).scalar() == 0


def test_an_audit_row_edited_behind_the_service_is_named_by_the_verifier(funding):
    budget, d = paid_disbursement(funding)
    assert funding.call(AUDITOR, "verify_audit_chain", "年度审计")["ok"] is True
    approved = next(r for r in funding.chain() if r["action"] == "disbursement_approved" and r["entity_id"] == d["id"])
    with funding.owner.begin() as conn:   # only the owner can switch the trigger off; the service role cannot
        conn.execute(sa.text("ALTER TABLE audit_record DISABLE TRIGGER audit_record_append_only_rows"))
        conn.execute(sa.text("UPDATE audit_record SET data = jsonb_set(data, '{amount}', '\"3000000.00\"') "
                             "WHERE seq = :s"), {"s": approved["seq"]})
        conn.execute(sa.text("ALTER TABLE audit_record ENABLE TRIGGER audit_record_append_only_rows"))
    verdict = funding.call(AUDITOR, "verify_audit_chain", "复核")
    assert (verdict["ok"], verdict["broken_seq"], verdict["kind"]) == (False, approved["seq"], "hash_mismatch")
    assert f"第{approved['seq']}条" in verdict["message"]


def edit_audit_row(funding, seq):
    with funding.owner.begin() as conn:   # only the owner can switch the trigger off; the service role cannot
        conn.execute(sa.text("ALTER TABLE audit_record DISABLE TRIGGER audit_record_append_only_rows"))
        conn.execute(sa.text("UPDATE audit_record SET reason = '事后改写' WHERE seq = :s"), {"s": seq})
        conn.execute(sa.text("ALTER TABLE audit_record ENABLE TRIGGER audit_record_append_only_rows"))


def test_a_long_chain_is_verified_by_several_processes_with_the_verdict_of_one_pass(funding, monkeypatch):
    if not funding.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("verification in several processes reads PostgreSQL snapshots")
    paid_disbursement(funding)
    funding.call({"id": "admin-1", "role": "admin"}, "sign_checkpoint")
    paid_disbursement(funding)
    monkeypatch.setenv("AUDIT_VERIFY_PARALLEL_FROM", "1")   # as if this short chain were a long one

    def verify(workers):
        monkeypatch.setenv("AUDIT_VERIFY_WORKERS", str(workers))
        n = len(funding.chain())
        verdict = funding.call(AUDITOR, "verify_audit_chain", "并行校验")
        return n, {k: v for k, v in verdict.items() if k != "seconds"}

    n, three = verify(3)
    assert (three["ok"], three["checked"], three["head_seq"], three["processes"]) == (True, n, n, 3)
    assert three["checkpoints"] == {"ok": True, "problems": []}
    target = len(funding.chain()) - 2          # in the last of the three ranges
    edit_audit_row(funding, target)
    n, three = verify(3)
    n1, one = verify(1)
    assert (three["ok"], three["broken_seq"], three["kind"], three["processes"]) == (False, target, "hash_mismatch", 3)
    assert one["processes"] == 1 and {**three, "processes": 1} == one
    assert f"第{target}条" in three["message"]


def test_if_a_verifying_process_fails_the_service_verifies_in_its_own(funding, monkeypatch):
    import sys
    from funding import audit
    if not funding.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("verification in several processes reads PostgreSQL snapshots")
    paid_disbursement(funding)
    monkeypatch.setenv("AUDIT_VERIFY_PARALLEL_FROM", "1")
    monkeypatch.setenv("AUDIT_VERIFY_WORKERS", "2")
    monkeypatch.setattr(audit, "WORKER_COMMAND", [sys.executable, "-c", "import sys; sys.exit('no database')"])
    verdict = funding.call(AUDITOR, "verify_audit_chain", "")
    assert (verdict["ok"], verdict["processes"]) == (True, 1)
    assert verdict["checked"] == len(funding.chain()) - 1   # all but the record of this very check


def test_signed_checkpoints_let_an_auditor_detect_a_truncated_chain(funding):
    paid_disbursement(funding)
    cp = funding.call({"id": "admin-1", "role": "admin"}, "sign_checkpoint")
    listed = funding.call(AUDITOR, "audit_checkpoints", "留存检查点")
    [key] = listed["keys"]
    stored = chain.Checkpoint.from_dict(listed["checkpoints"][-1])
    assert stored.seq == cp["seq"] and chain.verify_checkpoint(stored, key["public_key_pem"])
    forged = chain.Checkpoint(stored.seq, "f" * 64, stored.at, stored.key_id, stored.signature)
    assert not chain.verify_checkpoint(forged, key["public_key_pem"])
    # someone with the owner's rights removes the tail of the chain, checkpoint included
    with funding.owner.begin() as conn:
        for table in ("audit_checkpoint", "audit_record"):
            conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only_rows"))
        conn.execute(sa.text("DELETE FROM audit_checkpoint"))
        conn.execute(sa.text("DELETE FROM audit_record WHERE seq >= :s"), {"s": stored.seq - 1})
        for table in ("audit_checkpoint", "audit_record"):
            conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only_rows"))
    # the remaining chain is internally consistent; the checkpoint kept outside the system says otherwise
    rows = funding.chain()
    assert chain.verify_chain(rows).ok
    report = chain.check_against_checkpoints(rows, [stored], key["public_key_pem"])
    assert not report.ok and report.problems[0]["kind"] == "truncated"


def test_the_checkpoint_timer_signs_the_head_periodically(make_funding):
    funding = make_funding(FUNDING_CHECKPOINT_SECONDS="0.3")
    paid_disbursement(funding)
    head = funding.chain()[-1]
    funding.wait(lambda: any(c["seq"] >= head["seq"] for c in funding.call(AUDITOR, "audit_checkpoints")["checkpoints"]),
                 what="a checkpoint of the head")


def test_auditors_filter_page_total_and_export_and_each_query_is_recorded(funding):
    b1, d1 = paid_disbursement(funding, "30000.00", unit_id="u-1", league="150100")
    b2, d2 = paid_disbursement(funding, "80000.00", unit_id="u-2", league="150200", amount="200000.00")
    page = funding.call(AUDITOR, "search", "disbursements", {"league_city_code": "150200", "status": "paid",
                                                             "reason": "抽查"})
    assert [i["id"] for i in page["items"]] == [d2["id"]]
    assert page["totals"]["amount"] == "80000.00" and page["total"] == 1
    by_amount = funding.call(AUDITOR, "search", "disbursements", {"amount_min": "10000", "amount_max": "50000"})
    assert [i["id"] for i in by_amount["items"]] == [d1["id"]]
    today = funding.call(AUDITOR, "search", "disbursements", {"date_from": "2000-01-01", "limit": "1"})
    assert today["total"] == 2 and len(today["items"]) == 1
    ledger = funding.call(AUDITOR, "search", "ledger", {"project_id": b1["project_id"]})
    assert ledger["totals"]["debit"] == ledger["totals"]["credit"] == "180000.00"   # allocation + payment
    trail = funding.call(AUDITOR, "search", "audit", {"entity_id": d1["id"]})
    assert [r["action"] for r in trail["items"]] == ["disbursement_requested", "disbursement_approved",
                                                     "disbursement_paid"]
    assert trail["items"][1]["actor_id"] == "fo-b"
    queries = funding.call(AUDITOR, "search", "audit", {"status": "auditor_query", "actor_id": "aud-1"})
    assert queries["total"] >= 5
    assert any(q["reason"] == "抽查" and q["data"]["filters"]["league_city"] == "150200" for q in queries["items"])
    with pytest.raises(ValidationFailed) as err:
        funding.call(AUDITOR, "search", "disbursements", {"colour": "red", "amount_min": "1.005"})
    assert {p["path"] for p in err.value.details} == {"colour", "amount_min"}
    out = funding.call(AUDITOR, "export", "disbursements", "csv", {"programme": "service_team"})
    rows = list(csv.reader(io.StringIO(base64.b64decode(out["content_base64"]).decode("utf-8-sig"))))
    assert rows[0][0] == "拨付编号" and {r[0] for r in rows[1:]} == {d1["id"], d2["id"]}
    xlsx = funding.call(AUDITOR, "export", "audit", "xlsx", {"entity_id": d2["id"]})
    assert base64.b64decode(xlsx["content_base64"])[:2] == b"PK" and xlsx["rows"] == 3
    assert funding.call(AUDITOR, "verify_audit_chain", "")["ok"] is True


def test_records_with_tabs_newlines_backslashes_and_quotes_verify_after_the_database_round_trip(funding):
    budget = funding.select()
    d = funding.call(FO_A, "request_disbursement", budget["id"], {
        "amount": "10.00", "purpose": '首批\t"专款"\n第二行 \\ 反斜杠 \\N', "idempotency_key": uuid.uuid4().hex})
    funding.call(FO_B, "reject_disbursement", d["id"], "金额有误\r\n请核对\\t后重报")
    verdict = funding.call(AUDITOR, "verify_audit_chain", "")
    assert verdict["ok"] is True, verdict
