"""Funding's tables: the SQLAlchemy shape of ``funding/sql/tables.sql`` (names, types, constraints, indexes).

On PostgreSQL the migration also installs ``funding/sql/ledger_guards.sql``, so the database itself refuses
unbalanced transfers, edits of ledger and audit rows, and overdrawn budgets. Constraint names are given
verbatim (``conv``) because the guards and the error mapping in ``usecases`` refer to them.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import conv

from grassroots.db import BigId, UtcDateTime, make_base, utcnow

Base = make_base()
Money = sa.Numeric(18, 2, asdecimal=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")
Uuid = sa.Uuid(as_uuid=False)
Hash = sa.CHAR(64)


class Budget(Base):
    __tablename__ = "budget"
    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    call_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    programme: Mapped[str] = mapped_column(sa.Text, nullable=False)
    unit_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    unit_name: Mapped[str] = mapped_column(sa.Text, nullable=False)
    league_city: Mapped[str | None] = mapped_column(sa.Text)
    project_id: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text, nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str] = mapped_column(sa.Text, nullable=False, default="active", server_default="active")
    title: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    origin: Mapped[dict | None] = mapped_column(Json)
    origin_event: Mapped[str | None] = mapped_column(sa.Text)
    plan: Mapped[dict | None] = mapped_column(Json)
    bank_account: Mapped[dict | None] = mapped_column(Json)
    bank_problems: Mapped[list | None] = mapped_column(Json)
    bank_frozen: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, server_default=sa.text("false"))
    bank_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    bank_pending: Mapped[dict | None] = mapped_column(Json)
    # Why and by which decision the budget is (being) withdrawn: {reason, event_id, doc_ref, by, at, ...}
    withdrawal: Mapped[dict | None] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                    server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                    server_default=sa.func.now())
    __table_args__ = (
        sa.CheckConstraint("source IN ('ministry', 'department')", name=conv("budget_source_check")),
        sa.CheckConstraint("amount > 0", name=conv("budget_amount_check")),
        sa.CheckConstraint("status IN ('awaiting_amount', 'active', 'withdrawn', 'withdrawal_blocked')",
                           name=conv("budget_status_valid")),
        # a withdrawn budget keeps the amount it had (NULL if it never got one)
        sa.CheckConstraint("status = 'withdrawn' OR (status = 'awaiting_amount') = (amount IS NULL)",
                           name=conv("budget_amount_set")),
        sa.UniqueConstraint("project_id", "source", name=conv("budget_project_source")),
        sa.Index("budget_call_id", "call_id"),
        sa.Index("budget_programme", "programme"),
        sa.Index("budget_unit_id", "unit_id"),
        sa.Index("budget_league_city", "league_city"),
    )


class Disbursement(Base):
    __tablename__ = "disbursement"
    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    budget_id: Mapped[str] = mapped_column(Uuid, sa.ForeignKey("budget.id", name=conv("disbursement_budget_id_fkey")),
                                           nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    returned_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"),
                                                     server_default="0")
    status: Mapped[str] = mapped_column(sa.Text, nullable=False)
    requested_by: Mapped[str] = mapped_column(sa.Text, nullable=False)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                      server_default=sa.func.now())
    approved_by: Mapped[str | None] = mapped_column(sa.Text)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    bank_reference: Mapped[str | None] = mapped_column(sa.Text)
    failed_reason: Mapped[str | None] = mapped_column(sa.Text)
    closed_by: Mapped[str | None] = mapped_column(sa.Text)
    closed_reason: Mapped[str | None] = mapped_column(sa.Text)
    purpose: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    tranche: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    bank_account: Mapped[dict | None] = mapped_column(Json)
    idempotency_key: Mapped[str | None] = mapped_column(sa.Text)
    request_fingerprint: Mapped[str | None] = mapped_column(Hash)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                    server_default=sa.func.now())
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name=conv("disbursement_amount_check")),
        sa.CheckConstraint("status IN ('requested', 'approved', 'paid', 'failed', 'returned', 'rejected', "
                           "'cancelled')", name=conv("disbursement_status_valid")),
        sa.CheckConstraint("returned_amount >= 0 AND returned_amount <= amount",
                           name=conv("disbursement_returned_within_amount")),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name=conv("disbursement_four_eyes")),
        sa.UniqueConstraint("idempotency_key", name=conv("disbursement_idempotency_key_key")),
        sa.Index("disbursement_budget_id", "budget_id", "requested_at"),
        sa.Index("disbursement_requested_at", "requested_at"),
        sa.Index("disbursement_status", "status"),
    )


class LedgerTransfer(Base):
    __tablename__ = "ledger_transfer"
    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                    server_default=sa.func.now())
    kind: Mapped[str] = mapped_column(sa.Text, nullable=False)
    budget_id: Mapped[str | None] = mapped_column(Uuid, sa.ForeignKey("budget.id",
                                                                      name=conv("ledger_transfer_budget_id_fkey")))
    reverses: Mapped[str | None] = mapped_column(Uuid, sa.ForeignKey("ledger_transfer.id",
                                                                     name=conv("ledger_transfer_reverses_fkey")))
    memo: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    __table_args__ = (
        sa.CheckConstraint("kind IN ('allocation', 'payment', 'return', 'reversal')",
                           name=conv("ledger_transfer_kind_check")),
        sa.CheckConstraint("(kind = 'reversal') = (reverses IS NOT NULL)", name=conv("ledger_transfer_reversal_kind")),
        sa.UniqueConstraint("reverses", name=conv("ledger_transfer_reverses_key")),
        sa.Index("ledger_transfer_budget_id", "budget_id"),
    )


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transfer_id: Mapped[str] = mapped_column(Uuid, sa.ForeignKey("ledger_transfer.id",
                                                                 name=conv("ledger_entry_transfer_id_fkey")),
                                             nullable=False)
    account: Mapped[str] = mapped_column(sa.Text, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    budget_id: Mapped[str | None] = mapped_column(Uuid)
    kind: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                    server_default=sa.func.now())
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name=conv("ledger_entry_amount_check")),
        sa.Index("ledger_entry_transfer_id", "transfer_id"),
        sa.Index("ledger_entry_account_created", "account", "created_at"),
        sa.Index("ledger_entry_budget_created", "budget_id", "created_at",
                 postgresql_include=["amount", "kind"]),
        sa.Index("ledger_entry_created", "created_at"),
    )


class AuditRecord(Base):
    """Hash-chained (funding.domain.audit): each record's hash covers the previous record's hash."""
    __tablename__ = "audit_record"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    actor_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    actor_role: Mapped[str] = mapped_column(sa.Text, nullable=False)
    action: Mapped[str] = mapped_column(sa.Text, nullable=False)
    entity: Mapped[str] = mapped_column(sa.Text, nullable=False)
    entity_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    data: Mapped[object | None] = mapped_column(Json, nullable=True)
    prev_hash: Mapped[str] = mapped_column(Hash, nullable=False)
    hash: Mapped[str] = mapped_column(Hash, nullable=False)
    budget_id: Mapped[str | None] = mapped_column(Uuid)
    __table_args__ = (
        sa.CheckConstraint("seq >= 1", name=conv("audit_record_seq_check")),
        sa.UniqueConstraint("hash", name=conv("audit_record_hash_key")),
        sa.Index("audit_record_entity", "entity", "entity_id"),
        sa.Index("audit_record_at", "at"),
        sa.Index("audit_record_budget_id", "budget_id", "seq"),
    )


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoint"
    seq: Mapped[int] = mapped_column(BigId, sa.ForeignKey("audit_record.seq", name=conv("audit_checkpoint_seq_fkey")),
                                     primary_key=True, autoincrement=False)
    head_hash: Mapped[str] = mapped_column(Hash, nullable=False)
    at: Mapped[str] = mapped_column(sa.Text, nullable=False)
    key_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    signature: Mapped[str] = mapped_column(sa.Text, nullable=False)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    operation: Mapped[str] = mapped_column(sa.Text, nullable=False)
    fingerprint: Mapped[str] = mapped_column(Hash, nullable=False)
    result: Mapped[dict] = mapped_column(Json, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                    server_default=sa.func.now())


class MinistryDecisionSeen(Base):
    """The newest ministry decision applied per application (review's ``revision``)."""
    __tablename__ = "ministry_decision_seen"
    project_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    revision: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    approved: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    event_id: Mapped[str] = mapped_column(sa.Text, nullable=False)
    applied_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                    server_default=sa.func.now())


class FinalAccount(Base):
    __tablename__ = "final_account"
    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    budget_id: Mapped[str] = mapped_column(Uuid, sa.ForeignKey("budget.id", name=conv("final_account_budget_id_fkey")),
                                           nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    spending: Mapped[dict] = mapped_column(Json, nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    flags: Mapped[list] = mapped_column(Json, nullable=False)
    flagged: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    reported_by: Mapped[str] = mapped_column(sa.Text, nullable=False)
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow,
                                                     server_default=sa.func.now())
    __table_args__ = (sa.UniqueConstraint("budget_id", "version", name=conv("final_account_budget_version")),)
