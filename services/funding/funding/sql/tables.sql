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
    project_id    text,                                                      -- the application
    source        text NOT NULL CHECK (source IN ('ministry', 'department')),
    -- NULL while the selection named no amount: no disbursement until an officer sets it
    amount        numeric(18,2) CHECK (amount > 0),                          -- guarded
    status        text NOT NULL DEFAULT 'active',
    title         text NOT NULL DEFAULT '',
    origin        jsonb,               -- call, application (without its form), recipients: copied into events
    origin_event  text,                -- the review event the budget came from
    plan          jsonb,               -- {category: amount} approved for the final accounts (专款专用)
    bank_account  jsonb,               -- {interbank_code, account_number, account_name, bank_name}
    bank_problems jsonb,               -- why the account cannot be paid to yet (NULL: it passed the checks)
    bank_frozen   boolean NOT NULL DEFAULT false,
    bank_version  integer NOT NULL DEFAULT 1,
    bank_pending  jsonb,               -- a change of a frozen account awaiting a second officer
    withdrawal    jsonb,               -- why and by which decision the budget is (being) withdrawn
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budget_status_valid CHECK (status IN ('awaiting_amount', 'active', 'withdrawn', 'withdrawal_blocked')),
    -- a withdrawn budget keeps the amount it had (NULL if it never got one)
    CONSTRAINT budget_amount_set CHECK (status = 'withdrawn' OR (status = 'awaiting_amount') = (amount IS NULL)),
    -- the same application never gets two budgets from the same source
    CONSTRAINT budget_project_source UNIQUE (project_id, source)
);
CREATE INDEX IF NOT EXISTS budget_call_id ON budget (call_id);
CREATE INDEX IF NOT EXISTS budget_programme ON budget (programme);
CREATE INDEX IF NOT EXISTS budget_unit_id ON budget (unit_id);
CREATE INDEX IF NOT EXISTS budget_league_city ON budget (league_city);

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
    purpose             text NOT NULL DEFAULT '',
    tranche             integer NOT NULL DEFAULT 1,
    bank_account        jsonb,              -- the account it pays to, fixed at approval
    idempotency_key     text UNIQUE,
    request_fingerprint char(64),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT disbursement_status_valid
        CHECK (status IN ('requested', 'approved', 'paid', 'failed', 'returned', 'rejected', 'cancelled')),
    CONSTRAINT disbursement_returned_within_amount CHECK (returned_amount >= 0 AND returned_amount <= amount),
    -- four eyes, a second time: the database refuses a self-approved row whatever the code does
    CONSTRAINT disbursement_four_eyes CHECK (approved_by IS NULL OR approved_by <> requested_by)
);
CREATE INDEX IF NOT EXISTS disbursement_budget_id ON disbursement (budget_id, requested_at);
CREATE INDEX IF NOT EXISTS disbursement_requested_at ON disbursement (requested_at);
CREATE INDEX IF NOT EXISTS disbursement_status ON disbursement (status);

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
    budget_id    uuid,               -- the transfer's budget and kind, copied for the auditors' filters
    kind         text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_entry_transfer_id ON ledger_entry (transfer_id);
CREATE INDEX IF NOT EXISTS ledger_entry_account_created ON ledger_entry (account, created_at);
-- covering: an auditor's totals over a budget set and a period are answered from the index alone
CREATE INDEX IF NOT EXISTS ledger_entry_budget_created ON ledger_entry (budget_id, created_at) INCLUDE (amount, kind);
CREATE INDEX IF NOT EXISTS ledger_entry_created ON ledger_entry (created_at);
CREATE INDEX IF NOT EXISTS ledger_transfer_budget_id ON ledger_transfer (budget_id);

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
    hash        char(64) NOT NULL UNIQUE,
    budget_id   uuid                -- the budget the record concerns (not hashed: an index for auditors)
);
CREATE INDEX IF NOT EXISTS audit_record_entity ON audit_record (entity, entity_id);
CREATE INDEX IF NOT EXISTS audit_record_at ON audit_record (at);
CREATE INDEX IF NOT EXISTS audit_record_budget_id ON audit_record (budget_id, seq);

CREATE TABLE IF NOT EXISTS audit_checkpoint (
    seq         bigint PRIMARY KEY REFERENCES audit_record (seq),
    head_hash   char(64) NOT NULL,
    at          text NOT NULL,          -- exactly the signed text (format_at)
    key_id      text NOT NULL,
    signature   text NOT NULL
);

-- The newest ministry decision applied per application (review's ``revision``): an older one arriving later
-- (a retried delivery overtaken by its own correction) is ignored.
CREATE TABLE IF NOT EXISTS ministry_decision_seen (
    project_id   text PRIMARY KEY,
    revision     integer NOT NULL,
    approved     boolean NOT NULL,
    event_id     text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS idempotency_key (
    key          text PRIMARY KEY,
    operation    text NOT NULL,
    fingerprint  char(64) NOT NULL,
    result       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A unit's final accounts (决算), one row per report (a corrected report is a new row with a higher version).
CREATE TABLE IF NOT EXISTS final_account (
    id           uuid PRIMARY KEY,
    budget_id    uuid NOT NULL REFERENCES budget (id),
    version      integer NOT NULL,
    spending     jsonb NOT NULL,     -- {category: amount}
    note         text NOT NULL DEFAULT '',
    flags        jsonb NOT NULL,     -- funding.domain.final_accounts flags at the time of the report
    flagged      boolean NOT NULL,   -- any flag of severity error
    reported_by  text NOT NULL,
    reported_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT final_account_budget_version UNIQUE (budget_id, version)
);
