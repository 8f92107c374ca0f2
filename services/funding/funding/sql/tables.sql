-- Reference table shapes of the funding service (PostgreSQL 15).
-- The service's SQLAlchemy models match these; ledger_guards.sql depends on the table and column names
-- marked "guarded". The integration tests create exactly this schema.

CREATE TABLE IF NOT EXISTS budget (
    id            uuid PRIMARY KEY,
    call_id       text NOT NULL,
    programme     text NOT NULL,
    unit_id       text NOT NULL,
    unit_name     text NOT NULL,
    league_city   text,
    project_id    text,
    source        text NOT NULL CHECK (source IN ('ministry', 'department')),
    amount        numeric(18,2) NOT NULL CHECK (amount > 0),                 -- guarded
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS disbursement (
    id                  uuid PRIMARY KEY,
    budget_id           uuid NOT NULL REFERENCES budget (id),                  -- guarded
    amount              numeric(18,2) NOT NULL CHECK (amount > 0),             -- guarded
    returned_amount     numeric(18,2) NOT NULL DEFAULT 0,                      -- guarded
    status              text NOT NULL,                                         -- guarded
    requested_by        text NOT NULL,
    requested_at        timestamptz NOT NULL DEFAULT now(),
    approved_by         text,
    approved_at         timestamptz,
    paid_at             timestamptz,
    bank_reference      text,
    failed_reason       text,
    closed_by           text,
    closed_reason       text,
    idempotency_key     text UNIQUE,
    request_fingerprint char(64),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT disbursement_status_valid
        CHECK (status IN ('requested', 'approved', 'paid', 'failed', 'returned', 'rejected', 'cancelled')),
    CONSTRAINT disbursement_returned_within_amount CHECK (returned_amount >= 0 AND returned_amount <= amount),
    -- four eyes, a second time: the database refuses a self-approved row whatever the code does
    CONSTRAINT disbursement_four_eyes CHECK (approved_by IS NULL OR approved_by <> requested_by)
);
CREATE INDEX IF NOT EXISTS disbursement_budget_id ON disbursement (budget_id);

CREATE TABLE IF NOT EXISTS ledger_transfer (
    id          uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('allocation', 'payment', 'return', 'reversal')),
    budget_id   uuid REFERENCES budget (id),
    reverses    uuid UNIQUE REFERENCES ledger_transfer (id),   -- a transfer is reversed at most once
    memo        text NOT NULL DEFAULT '',
    CONSTRAINT ledger_transfer_reversal_kind CHECK ((kind = 'reversal') = (reverses IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS ledger_entry (
    id           bigserial PRIMARY KEY,
    transfer_id  uuid NOT NULL REFERENCES ledger_transfer (id),
    account      text NOT NULL,
    amount       numeric(18,2) NOT NULL CHECK (amount <> 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_entry_transfer_id ON ledger_entry (transfer_id);
CREATE INDEX IF NOT EXISTS ledger_entry_account_created ON ledger_entry (account, created_at);

CREATE TABLE IF NOT EXISTS audit_record (
    seq         bigint PRIMARY KEY CHECK (seq >= 1),
    at          timestamptz NOT NULL,
    actor_id    text NOT NULL,
    actor_role  text NOT NULL,
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_id   text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    data        jsonb,
    prev_hash   char(64) NOT NULL,
    hash        char(64) NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_record_entity ON audit_record (entity, entity_id);
CREATE INDEX IF NOT EXISTS audit_record_at ON audit_record (at);

CREATE TABLE IF NOT EXISTS audit_checkpoint (
    seq         bigint PRIMARY KEY REFERENCES audit_record (seq),
    head_hash   char(64) NOT NULL,
    at          text NOT NULL,          -- exactly the signed text (format_at)
    key_id      text NOT NULL,
    signature   text NOT NULL
);

CREATE TABLE IF NOT EXISTS idempotency_key (
    key          text PRIMARY KEY,
    operation    text NOT NULL,
    fingerprint  char(64) NOT NULL,
    result       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
