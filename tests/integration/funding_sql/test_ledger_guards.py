"""The database refuses what the funding domain refuses: unbalanced transfers (at commit), edits of
append-only rows (for the application role by privilege, for everyone by trigger), overdrawn budgets (also
under 100 concurrent requests), self-approval, and unlinked audit records."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

psycopg2 = pytest.importorskip("psycopg2")
import psycopg2.errors  # noqa: E402
from psycopg2.extras import Json, register_uuid  # noqa: E402

from funding.domain import audit, ledger  # noqa: E402

register_uuid()

APPEND_ONLY = ["ledger_transfer", "ledger_entry", "audit_record", "audit_checkpoint"]


def new_budget(conn, amount="1000.00"):
    budget_id = uuid.uuid4()
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO budget (id, call_id, programme, unit_id, unit_name, source, amount) "
                    "VALUES (%s, '2025', 'expert_service_team', 'u-1', '呼伦贝尔市人力资源和社会保障局', "
                    "'ministry', %s)", (budget_id, Decimal(amount)))
    return budget_id


def insert_transfer(cur, transfer: ledger.Transfer | None = None, *, id=None, kind="allocation", budget_id=None,
                    legs=(), reverses=None):
    if transfer is not None:
        id, kind, budget_id, reverses = transfer.id, transfer.kind, transfer.budget_id, transfer.reverses
        legs = [(leg.account, leg.amount) for leg in transfer.legs]
    cur.execute("INSERT INTO ledger_transfer (id, kind, budget_id, reverses, memo) VALUES (%s, %s, %s, %s, '')",
                (str(id), kind, budget_id and str(budget_id), reverses and str(reverses)))
    for account, amount in legs:
        cur.execute("INSERT INTO ledger_entry (transfer_id, account, amount) VALUES (%s, %s, %s)",
                    (str(id), account, Decimal(amount)))


def count(conn, table, where="true", args=()):
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE {where}", args)
        n = cur.fetchone()[0]
    conn.rollback()
    return n


# -- (a) balance at commit -------------------------------------------------------------------------------

def test_unbalanced_legs_are_accepted_statement_by_statement_but_refused_at_commit(app):
    budget_id = new_budget(app)
    transfer_id = uuid.uuid4()
    with app.cursor() as cur:
        insert_transfer(cur, id=transfer_id, budget_id=budget_id,
                        legs=[(f"budget:{budget_id}:allocated", "100.00"), ("source:ministry", "-90.00")])
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            app.commit()
    assert err.value.diag.constraint_name == "ledger_transfer_balanced"
    assert count(app, "ledger_transfer", "id = %s", (str(transfer_id),)) == 0
    assert count(app, "ledger_entry", "transfer_id = %s", (str(transfer_id),)) == 0


def test_a_balanced_transfer_built_by_the_domain_commits(app):
    budget_id = new_budget(app)
    t = ledger.allocation(id=str(uuid.uuid4()), budget_id=str(budget_id), source="ministry",
                          amount=Decimal("1000.00"))
    with app, app.cursor() as cur:
        insert_transfer(cur, t)
    assert count(app, "ledger_entry", "transfer_id = %s", (t.id,)) == 2


def test_a_transfer_may_be_balanced_within_the_transaction_before_commit(app):
    """Deferred: legs are checked at commit, so they can be inserted one by one."""
    budget_id = new_budget(app)
    transfer_id = uuid.uuid4()
    with app, app.cursor() as cur:
        insert_transfer(cur, id=transfer_id, budget_id=budget_id, legs=[(f"budget:{budget_id}:allocated", "5.00")])
        cur.execute("INSERT INTO ledger_entry (transfer_id, account, amount) VALUES (%s, 'source:department', -5)",
                    (str(transfer_id),))
    assert count(app, "ledger_entry", "transfer_id = %s", (str(transfer_id),)) == 2


@pytest.mark.parametrize("legs", [[], [("source:ministry", "10.00")]], ids=["no legs", "one leg"])
def test_a_transfer_with_fewer_than_two_legs_is_refused_at_commit(app, legs):
    with app.cursor() as cur:
        insert_transfer(cur, id=uuid.uuid4(), legs=legs)
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            app.commit()
    assert err.value.diag.constraint_name == "ledger_transfer_balanced"


def test_a_zero_leg_is_refused_by_the_column_check(app):
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation):
            insert_transfer(cur, id=uuid.uuid4(), legs=[("source:ministry", "0.00"), ("bank:clearing", "0.00")])
    app.rollback()


def test_a_reversal_must_mirror_the_transfer_it_reverses(app):
    budget_id = new_budget(app)
    original = ledger.allocation(id=str(uuid.uuid4()), budget_id=str(budget_id), source="ministry",
                                 amount=Decimal("300.00"))
    with app, app.cursor() as cur:
        insert_transfer(cur, original)
    with app.cursor() as cur:
        insert_transfer(cur, id=uuid.uuid4(), kind="reversal", budget_id=budget_id, reverses=original.id,
                        legs=[(f"budget:{budget_id}:allocated", "-200.00"), ("source:ministry", "200.00")])
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            app.commit()
    assert err.value.diag.constraint_name == "ledger_reversal_mirrors"
    good = ledger.reversal(original, id=str(uuid.uuid4()), memo="金额录入错误")
    with app, app.cursor() as cur:
        insert_transfer(cur, good)
    assert count(app, "ledger_transfer", "reverses = %s", (original.id,)) == 1


# -- (b) append-only ------------------------------------------------------------------------------------

@pytest.fixture
def one_row_each(owner):
    """One committed row in every append-only table (written through the domain functions)."""
    budget_id = new_budget(owner)
    t = ledger.allocation(id=str(uuid.uuid4()), budget_id=str(budget_id), source="department",
                          amount=Decimal("10.00"))
    with owner, owner.cursor() as cur:
        insert_transfer(cur, t)
        cur.execute("SELECT seq, hash FROM funding_audit_lock_head()")
        seq, head_hash = cur.fetchone()
        cur.execute("SELECT * FROM audit_record WHERE seq = %s", (seq,))
        prev = None
        if seq:
            row = dict(zip([d.name for d in cur.description], cur.fetchone()))
            prev = as_record(row)
        rec = audit.append(prev, at=datetime.now(timezone.utc), actor_id="f-1", actor_role="finance_officer",
                           action="budget_allocated", entity="budget", entity_id=str(budget_id),
                           reason="预算下达", data={"amount": "10.00"})
        insert_audit(cur, rec)
        cp = audit.sign_checkpoint(rec.seq, rec.hash, datetime.now(timezone.utc), audit.generate_key_pair().private_pem)
        cur.execute("INSERT INTO audit_checkpoint (seq, head_hash, at, key_id, signature) VALUES (%s,%s,%s,%s,%s)",
                    (cp.seq, cp.head_hash, cp.at, cp.key_id, cp.signature))
    return {"ledger_transfer": ("id", t.id), "ledger_entry": ("transfer_id", t.id),
            "audit_record": ("seq", rec.seq), "audit_checkpoint": ("seq", rec.seq)}


def as_record(row: dict) -> audit.AuditRecord:
    """The hashed fields of a row (budget_id is an index column outside the hash)."""
    return audit.AuditRecord(**{k: row[k] for k in (*audit.FIELDS, "hash")} | {"at": audit.format_at(row["at"])})


def insert_audit(cur, rec: audit.AuditRecord):
    cur.execute("INSERT INTO audit_record (seq, at, actor_id, actor_role, action, entity, entity_id, reason, data, "
                "prev_hash, hash) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (rec.seq, rec.at, rec.actor_id, rec.actor_role, rec.action, rec.entity, rec.entity_id, rec.reason,
                 Json(rec.data), rec.prev_hash, rec.hash))


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c} WHERE {c} = %s", "DELETE FROM {t} WHERE {c} = %s",
                                       "TRUNCATE {t} CASCADE"], ids=["update", "delete", "truncate"])
def test_the_app_role_cannot_update_delete_or_truncate_ledger_and_audit_rows(app, one_row_each, table, statement):
    column, key = one_row_each[table]
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(statement.format(t=table, c=column), (key,))
    app.rollback()
    assert count(app, table, f"{column} = %s", (key,)) >= 1


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c} WHERE {c} = %s", "DELETE FROM {t} WHERE {c} = %s",
                                       "TRUNCATE {t} CASCADE"], ids=["update", "delete", "truncate"])
def test_even_the_owner_is_stopped_by_the_append_only_trigger(owner, one_row_each, table, statement):
    column, key = one_row_each[table]
    with owner.cursor() as cur:
        with pytest.raises(psycopg2.errors.RestrictViolation) as err:
            cur.execute(statement.format(t=table, c=column), (key,))
    owner.rollback()
    assert err.value.diag.constraint_name == "append_only"


def test_an_audit_record_that_does_not_link_to_its_predecessor_is_refused(app, one_row_each):
    with app, app.cursor() as cur:
        cur.execute("SELECT seq, hash FROM funding_audit_lock_head()")
        seq, head_hash = cur.fetchone()
    forged = audit.AuditRecord(seq + 1, audit.format_at(datetime.now(timezone.utc)), "f-1", "finance_officer",
                               "x", "budget", "b", "", None, "f" * 64, "e" * 64)
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            insert_audit(cur, forged)
    app.rollback()
    assert err.value.diag.constraint_name == "audit_chain_linked"
    skipped = audit.AuditRecord(seq + 2, forged.at, "f-1", "finance_officer", "x", "budget", "b", "", None,
                                head_hash, "d" * 64)
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation):
            insert_audit(cur, skipped)
    app.rollback()


def test_an_audit_row_edited_behind_the_triggers_back_is_named_by_the_verifier(owner, funding_db):
    """A superuser can switch triggers off; the hash chain still gives the edit away, after a round trip
    through timestamptz and jsonb."""
    with owner, owner.cursor() as cur:
        cur.execute("SELECT seq, hash FROM funding_audit_lock_head()")
        seq, head_hash = cur.fetchone()
        cur.execute("SELECT * FROM audit_record WHERE seq = %s", (seq,))
        row = cur.fetchone()
        prev = None
        if row:
            row = dict(zip([d.name for d in cur.description], row))
            prev = as_record(row)
        t0 = datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
        for i in range(5):
            prev = audit.append(prev, at=t0 + timedelta(minutes=i), actor_id=f"f-{i % 2}",
                                actor_role="finance_officer", action="disbursement_approved",
                                entity="disbursement", entity_id=f"d-{i}", reason="第一批拨付",
                                data={"amount": "50000.00", "tags": ["首批", "专款专用"], "n": i, "ok": True,
                                      "z": None, "a": {"b": 1}})
            insert_audit(cur, prev)
    target = seq + 3

    def read_chain():
        with owner.cursor() as cur:
            cur.execute("SELECT * FROM audit_record ORDER BY seq")
            names = [d.name for d in cur.description]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
        owner.rollback()
        return rows

    assert audit.verify_chain(read_chain()).ok
    with owner, owner.cursor() as cur:
        cur.execute("ALTER TABLE audit_record DISABLE TRIGGER audit_record_append_only_rows")
        cur.execute("UPDATE audit_record SET data = jsonb_set(data, '{amount}', '\"5000000.00\"') WHERE seq = %s",
                    (target,))
        cur.execute("ALTER TABLE audit_record ENABLE TRIGGER audit_record_append_only_rows")
    verdict = audit.verify_chain(read_chain())
    assert (verdict.ok, verdict.broken_seq, verdict.kind) == (False, target, audit.HASH_MISMATCH)
    assert f"第{target}条" in verdict.message


# -- (c) budgets ----------------------------------------------------------------------------------------

def insert_disbursement(cur, budget_id, amount, status="requested", requested_by="f-1", approved_by=None):
    disbursement_id = uuid.uuid4()
    cur.execute("INSERT INTO disbursement (id, budget_id, amount, status, requested_by, approved_by, idempotency_key) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (disbursement_id, budget_id, Decimal(amount), status, requested_by, approved_by, str(uuid.uuid4())))
    return disbursement_id


def test_a_disbursement_beyond_the_budget_is_refused(app):
    budget_id = new_budget(app, "1000.00")
    with app, app.cursor() as cur:
        insert_disbursement(cur, budget_id, "600.00")
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            insert_disbursement(cur, budget_id, "400.01")
    app.rollback()
    assert err.value.diag.constraint_name == "budget_not_overdrawn"
    with app, app.cursor() as cur:
        insert_disbursement(cur, budget_id, "400.00")


def test_rejected_failed_and_returned_money_frees_budget(app):
    budget_id = new_budget(app, "1000.00")
    with app, app.cursor() as cur:
        first = insert_disbursement(cur, budget_id, "1000.00")
        cur.execute("UPDATE disbursement SET status = 'rejected' WHERE id = %s", (first,))
        second = insert_disbursement(cur, budget_id, "1000.00")
        cur.execute("UPDATE disbursement SET status = 'approved', approved_by = 'f-2' WHERE id = %s", (second,))
        cur.execute("UPDATE disbursement SET status = 'paid' WHERE id = %s", (second,))
        cur.execute("UPDATE disbursement SET status = 'returned', returned_amount = 250 WHERE id = %s", (second,))
        insert_disbursement(cur, budget_id, "250.00")
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation):
            insert_disbursement(cur, budget_id, "0.01")
    app.rollback()


def test_a_disbursement_cannot_grow_past_the_budget_by_update(app):
    budget_id = new_budget(app, "1000.00")
    with app, app.cursor() as cur:
        d = insert_disbursement(cur, budget_id, "500.00")
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation):
            cur.execute("UPDATE disbursement SET amount = 1000.01 WHERE id = %s", (d,))
    app.rollback()


def test_a_budget_cannot_be_lowered_below_its_active_disbursements(app):
    budget_id = new_budget(app, "1000.00")
    with app, app.cursor() as cur:
        insert_disbursement(cur, budget_id, "800.00")
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            cur.execute("UPDATE budget SET amount = 799.99 WHERE id = %s", (budget_id,))
    app.rollback()
    assert err.value.diag.constraint_name == "budget_not_overdrawn"


def test_the_database_refuses_a_self_approved_disbursement(app):
    budget_id = new_budget(app)
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            insert_disbursement(cur, budget_id, "1.00", status="approved", requested_by="f-1", approved_by="f-1")
    app.rollback()
    assert err.value.diag.constraint_name == "disbursement_four_eyes"


def test_disbursements_are_refused_under_repeatable_read_where_the_guard_could_miss_concurrent_rows(app):
    budget_id = new_budget(app)
    app.set_session(isolation_level="REPEATABLE READ")
    try:
        with app.cursor() as cur:
            with pytest.raises(psycopg2.errors.FeatureNotSupported):
                insert_disbursement(cur, budget_id, "1.00")
        app.rollback()
    finally:
        app.set_session(isolation_level="READ COMMITTED")


def test_100_parallel_requests_accept_exactly_as_many_as_fit_in_the_budget(funding_db, app):
    budget_id = new_budget(app, "1000.00")
    app.close()
    requests, amount = 100, Decimal("30.00")
    fit = int(Decimal("1000.00") // amount)           # 33
    go = threading.Event()
    connected = []
    outcomes: list[str] = []
    lock = threading.Lock()

    def connect():
        # max_connections may be shared with other test suites; wait for a free slot rather than fail
        deadline = time.monotonic() + 30
        while True:
            try:
                return psycopg2.connect(funding_db["app_dsn"])
            except psycopg2.OperationalError as exc:
                full = "too many clients" in str(exc) or "connection slots are reserved" in str(exc)
                if not full or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def worker():
        try:
            conn = connect()
        except Exception as exc:  # recorded, makes the test fail below
            with lock:
                outcomes.append(f"connect error: {exc}")
            return
        with lock:
            connected.append(1)
        go.wait(10)
        try:
            with conn.cursor() as cur:
                insert_disbursement(cur, budget_id, amount)
            conn.commit()
            result = "accepted"
        except psycopg2.errors.CheckViolation as exc:
            conn.rollback()
            result = "refused" if exc.diag.constraint_name == "budget_not_overdrawn" else f"error: {exc}"
        except Exception as exc:
            result = f"error: {exc!r}"
        finally:
            conn.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(requests)]
    for t in threads:
        t.start()
    wait_until = time.monotonic() + 5
    while len(connected) < requests and time.monotonic() < wait_until:
        time.sleep(0.01)
    go.set()
    for t in threads:
        t.join(60)

    errors = [o for o in outcomes if o not in ("accepted", "refused")]
    assert not errors, errors[:3]
    assert outcomes.count("accepted") == fit
    assert outcomes.count("refused") == requests - fit
    with psycopg2.connect(funding_db["owner_dsn"]) as check, check.cursor() as cur:
        cur.execute("SELECT count(*), sum(amount) FROM disbursement WHERE budget_id = %s", (budget_id,))
        assert cur.fetchone() == (fit, amount * fit)
    check.close()


def test_a_budget_awaiting_its_amount_accepts_no_disbursement(app):
    budget_id = uuid.uuid4()
    with app, app.cursor() as cur:
        cur.execute("INSERT INTO budget (id, call_id, programme, unit_id, unit_name, source, amount, status) "
                    "VALUES (%s, '2025', 'expert_service_team', 'u-1', '某单位', 'department', NULL, "
                    "'awaiting_amount')", (budget_id,))
    with app.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation) as err:
            insert_disbursement(cur, budget_id, "0.01")
    app.rollback()
    assert err.value.diag.constraint_name == "budget_not_overdrawn"


def test_the_same_application_gets_at_most_one_budget_per_source(app):
    def insert(source):
        with app, app.cursor() as cur:
            cur.execute("INSERT INTO budget (id, call_id, programme, unit_id, unit_name, project_id, source, amount) "
                        "VALUES (%s, '2025', 'national_base', 'u-1', '某单位', 'app-7', %s, 100)",
                        (uuid.uuid4(), source))
    insert("department")
    insert("ministry")
    with pytest.raises(psycopg2.errors.UniqueViolation):
        insert("department")
