"""Funding's own tables."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import BigId, UtcDateTime, make_base, new_id, utcnow

Base = make_base()
Money = sa.Numeric(18, 2, asdecimal=True)


class Budget(Base):
    __tablename__ = "budget"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, unique=True)
    call_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    programme_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    unit_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    bank: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),)


class Disbursement(Base):
    __tablename__ = "disbursement"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    budget_id: Mapped[str] = mapped_column(sa.ForeignKey("budget.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="requested")
    purpose: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    request_fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    requested_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    bank_ref: Mapped[str | None] = mapped_column(sa.String(100))
    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)


class AuditRecord(Base):
    """Hash-chained: each record's hash covers the previous record's hash."""
    __tablename__ = "audit_record"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    actor_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    actor_role: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    action: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    entity: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[str] = mapped_column(sa.Text, nullable=False)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
