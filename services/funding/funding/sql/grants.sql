-- Privileges of the funding service's application role. A template: {app_role} is replaced by the quoted
-- role name (funding.sql.grants_sql(app_role)). Run as the migration owner role (the tables' owner), which
-- must be a different role: the application role must not own the tables nor be a member of the owner
-- role, or it could disable the triggers and grant itself the privileges back.

REVOKE ALL ON ledger_transfer, ledger_entry, audit_record, audit_checkpoint, budget, disbursement,
    idempotency_key, final_account FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM {app_role};
GRANT USAGE ON SCHEMA public TO {app_role};

-- append-only tables: read and insert, nothing else
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON ledger_transfer, ledger_entry, audit_record, audit_checkpoint FROM {app_role};
GRANT SELECT, INSERT ON ledger_transfer, ledger_entry, audit_record, audit_checkpoint TO {app_role};
GRANT USAGE, SELECT ON SEQUENCE ledger_entry_id_seq TO {app_role};

-- state tables: rows change state (and the budget row is locked FOR UPDATE, which needs UPDATE) but are
-- never deleted
REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON budget, disbursement, idempotency_key FROM {app_role};
GRANT SELECT, INSERT, UPDATE ON budget, disbursement, idempotency_key TO {app_role};

-- final accounts: a corrected report is a new version, so the service only ever inserts and reads them
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON final_account FROM {app_role};
GRANT INSERT, SELECT ON final_account TO {app_role};

GRANT EXECUTE ON FUNCTION funding_audit_lock_head() TO {app_role};
