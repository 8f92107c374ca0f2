"""Intake's own tables (its database only)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


class Call(Base):
    __tablename__ = "call"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    doc_no: Mapped[str | None] = mapped_column(sa.String(80))
    deadline: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="draft")
    definition: Mapped[dict] = mapped_column(sa.JSON, nullable=False, deferred=True)
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (sa.UniqueConstraint("year", "doc_no"),)


class Unit(Base):
    __tablename__ = "unit"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    contacts: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Application(Base):
    __tablename__ = "application"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(sa.ForeignKey("call.id"), nullable=False, index=True)
    programme_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    unit_id: Mapped[str] = mapped_column(sa.ForeignKey("unit.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="draft")
    form: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: last day (Asia/Shanghai) a post-activity report is on time; fixed at submission (the form is frozen).
    report_due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    #: set once by the timer that emits report_overdue (a conditional UPDATE makes replicas agree).
    report_overdue_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (sa.Index("ix_application_quota", "call_id", "programme_code", "unit_id", "status"),)


class Document(Base):
    __tablename__ = "document"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(sa.ForeignKey("application.id"), nullable=False, index=True)
    #: "application" (the programme's attachments) or "report" (the post-activity report's attachments).
    purpose: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="application")
    #: the stored document this upload replaces (a new version); the old one becomes "superseded".
    replaces_id: Mapped[str | None] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    object_key: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    declared_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    declared_size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending")
    version_id: Mapped[str | None] = mapped_column(sa.String(120))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    content_type: Mapped[str | None] = mapped_column(sa.String(60))
    problems: Mapped[list | None] = mapped_column(sa.JSON)
    uploaded_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    stored_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Report(Base):
    """The post-activity report of one application (效果追踪 / 后评估): filed once, never edited."""

    __tablename__ = "report"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(sa.ForeignKey("application.id"), nullable=False, unique=True)
    form: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    document_ids: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    activity_end_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    late: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    filed_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    filed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
