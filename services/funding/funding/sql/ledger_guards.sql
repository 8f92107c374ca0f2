-- Database-level guarantees of the funding service (PostgreSQL 15). Run by the migration, as the
-- migration owner role (the owner of the tables), after the tables exist. Idempotent: safe to re-run.
--
-- (a) every ledger transfer has >= 2 legs summing to zero, and a reversal mirrors what it reverses:
--     constraint triggers DEFERRABLE INITIALLY DEFERRED, checked at COMMIT
--     (SQLSTATE 23514, constraint ledger_transfer_balanced / ledger_reversal_mirrors);
-- (b) ledger_transfer, ledger_entry, audit_record, audit_checkpoint are append-only: UPDATE, DELETE and
--     TRUNCATE raise (SQLSTATE 23001 restrict_violation, constraint append_only) — for every role,
--     including the owner; grants.sql also revokes those privileges from the application role;
--     audit records must link to their predecessor (constraint audit_chain_linked);
-- (c) a budget is never overdrawn: inserting or growing an active disbursement locks the budget row
--     (SELECT ... FOR UPDATE) and re-sums under that lock (SQLSTATE 23514, constraint budget_not_overdrawn);
--     lowering a budget below its active disbursements is refused the same way.
-- "Active" = status in requested, approved, paid, returned, counted net of returned_amount; keep in step with
-- funding.domain.disbursement.ACTIVE_STATUSES.

-- (a) ------------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION funding_check_transfer_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    r uuid;
    total numeric;
    legs integer;
BEGIN
    IF TG_TABLE_NAME = 'ledger_transfer' THEN
        t := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        t := OLD.transfer_id;
    ELSE
        t := NEW.transfer_id;
    END IF;
    SELECT coalesce(sum(amount), 0), count(*) INTO total, legs FROM ledger_entry WHERE transfer_id = t;
    IF legs < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'ledger transfer % is not balanced: % leg(s) summing to %', t, legs, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_balanced',
                  HINT = 'a transfer needs at least two legs whose amounts sum to zero';
    END IF;
    SELECT reverses INTO r FROM ledger_transfer WHERE id = t;
    IF r IS NOT NULL AND EXISTS (
        SELECT 1
        FROM (SELECT account, sum(amount) AS a FROM ledger_entry WHERE transfer_id = t GROUP BY account) x
        FULL JOIN (SELECT account, -sum(amount) AS a FROM ledger_entry WHERE transfer_id = r GROUP BY account) y
            USING (account)
        WHERE x.a IS DISTINCT FROM y.a
    ) THEN
        RAISE EXCEPTION 'ledger transfer % does not mirror the transfer % it reverses', t, r
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_reversal_mirrors';
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;
CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT OR UPDATE OR DELETE ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION funding_check_transfer_balanced();

-- a transfer row without any legs would not fire the entry trigger
DROP TRIGGER IF EXISTS ledger_transfer_has_legs ON ledger_transfer;
CREATE CONSTRAINT TRIGGER ledger_transfer_has_legs
    AFTER INSERT ON ledger_transfer
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION funding_check_transfer_balanced();

-- (b) ------------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION funding_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed (corrections are new rows, e.g. reversing entries)',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'append_only';
END
$$;

DO $$
DECLARE
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['ledger_transfer', 'ledger_entry', 'audit_record', 'audit_checkpoint'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_append_only_rows', tbl);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                       'EXECUTE FUNCTION funding_append_only()', tbl || '_append_only_rows', tbl);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_append_only_truncate', tbl);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION funding_append_only()', tbl || '_append_only_truncate', tbl);
    END LOOP;
END
$$;

-- Each audit record names its predecessor's hash; gaps and forks are refused at insert (the hash itself is
-- recomputed by funding.domain.audit.verify_chain, which owns the canonical encoding).
CREATE OR REPLACE FUNCTION funding_audit_linked() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous char(64);
BEGIN
    IF NEW.seq = 1 THEN
        previous := repeat('0', 64);
    ELSE
        SELECT hash INTO previous FROM audit_record WHERE seq = NEW.seq - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'audit record % has no predecessor %', NEW.seq, NEW.seq - 1
                USING ERRCODE = 'check_violation', CONSTRAINT = 'audit_chain_linked';
        END IF;
    END IF;
    IF NEW.prev_hash IS DISTINCT FROM previous THEN
        RAISE EXCEPTION 'audit record % does not link to the hash of record %', NEW.seq, NEW.seq - 1
            USING ERRCODE = 'check_violation', CONSTRAINT = 'audit_chain_linked';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS audit_record_linked ON audit_record;
CREATE TRIGGER audit_record_linked BEFORE INSERT ON audit_record
    FOR EACH ROW EXECUTE FUNCTION funding_audit_linked();

-- Appenders serialise on this transaction-level advisory lock, then read the head; the lock is released
-- at commit/rollback. (SELECT ... FOR UPDATE on the head is unavailable: it needs UPDATE privilege.)
CREATE OR REPLACE FUNCTION funding_audit_lock_head(OUT seq bigint, OUT hash char(64))
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funding.audit_record'));
    SELECT r.seq, r.hash INTO seq, hash FROM audit_record r ORDER BY r.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        seq := 0;
        hash := repeat('0', 64);
    END IF;
END
$$;

-- (c) ------------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION funding_disbursement_within_budget() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    budget_amount numeric(18,2);
    used numeric(18,2);
    wanted numeric(18,2);
BEGIN
    IF NEW.status NOT IN ('requested', 'approved', 'paid', 'returned') THEN
        RETURN NEW;                                   -- leaving the active set never overdraws
    END IF;
    wanted := NEW.amount - NEW.returned_amount;
    IF TG_OP = 'UPDATE' AND OLD.status IN ('requested', 'approved', 'paid', 'returned')
       AND NEW.budget_id = OLD.budget_id AND wanted <= OLD.amount - OLD.returned_amount THEN
        RETURN NEW;                                   -- e.g. approved -> paid: usage does not grow
    END IF;
    -- Under REPEATABLE READ the re-sum below would read the transaction's old snapshot and miss
    -- concurrent commits; READ COMMITTED takes a fresh snapshot per statement, SERIALIZABLE detects the race.
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'disbursements must be written under READ COMMITTED or SERIALIZABLE'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    -- The row lock serialises every writer of this budget's disbursements: the second waits here until the
    -- first commits, then sums with the first one's row visible.
    SELECT b.amount INTO budget_amount FROM budget b WHERE b.id = NEW.budget_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'budget % does not exist', NEW.budget_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT coalesce(sum(d.amount - d.returned_amount), 0) INTO used
    FROM disbursement d
    WHERE d.budget_id = NEW.budget_id
      AND d.status IN ('requested', 'approved', 'paid', 'returned')
      AND d.id <> NEW.id;
    -- A budget still awaiting its amount (NULL) has nothing to give; without coalesce the comparison would be
    -- NULL and let the row through.
    IF used + wanted > coalesce(budget_amount, 0) THEN
        RAISE EXCEPTION 'budget % would be overdrawn: % active + % requested > %',
            NEW.budget_id, used, wanted, budget_amount
            USING ERRCODE = 'check_violation', CONSTRAINT = 'budget_not_overdrawn',
                  DETAIL = json_build_object('budget', coalesce(budget_amount, 0), 'committed', used,
                                             'requested', wanted,
                                             'remaining', coalesce(budget_amount, 0) - used)::text;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS disbursement_within_budget ON disbursement;
CREATE TRIGGER disbursement_within_budget BEFORE INSERT OR UPDATE ON disbursement
    FOR EACH ROW EXECUTE FUNCTION funding_disbursement_within_budget();

CREATE OR REPLACE FUNCTION funding_budget_covers_disbursements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    used numeric(18,2);
BEGIN
    IF NEW.amount >= coalesce(OLD.amount, 0) AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    SELECT coalesce(sum(d.amount - d.returned_amount), 0) INTO used
    FROM disbursement d
    WHERE d.budget_id = OLD.id AND d.status IN ('requested', 'approved', 'paid', 'returned');
    IF used > coalesce(NEW.amount, 0) THEN
        RAISE EXCEPTION 'budget % cannot be lowered to %: % is already committed', OLD.id, NEW.amount, used
            USING ERRCODE = 'check_violation', CONSTRAINT = 'budget_not_overdrawn';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS budget_covers_disbursements ON budget;
CREATE TRIGGER budget_covers_disbursements BEFORE UPDATE ON budget
    FOR EACH ROW EXECUTE FUNCTION funding_budget_covers_disbursements();
