-- Downgrade of ledger_guards.sql (run as the migration owner). Removes the triggers and functions only.
DROP TRIGGER IF EXISTS budget_covers_disbursements ON budget;
DROP TRIGGER IF EXISTS disbursement_within_budget ON disbursement;
DROP TRIGGER IF EXISTS audit_record_linked ON audit_record;
DROP TRIGGER IF EXISTS ledger_transfer_has_legs ON ledger_transfer;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;
DO $$
DECLARE
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['ledger_transfer', 'ledger_entry', 'audit_record', 'audit_checkpoint'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_append_only_rows', tbl);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_append_only_truncate', tbl);
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS funding_budget_covers_disbursements();
DROP FUNCTION IF EXISTS funding_disbursement_within_budget();
DROP FUNCTION IF EXISTS funding_audit_lock_head();
DROP FUNCTION IF EXISTS funding_audit_linked();
DROP FUNCTION IF EXISTS funding_append_only();
DROP FUNCTION IF EXISTS funding_check_transfer_balanced();
