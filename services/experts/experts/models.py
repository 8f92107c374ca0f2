"""Experts' own tables (its database only).

A resident ID number is never stored in clear: ``id_hash`` (keyed HMAC, unique: one person, one expert),
``id_encrypted`` (Fernet, for the admin who must read it) and ``id_masked`` (what everyone else sees).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


class Expert(Base):
    __tablename__ = "expert"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    #: the gateway account (role expert) of this person: they see and edit their own profile with it.
    user_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    gender: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    birth_year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    ethnicity: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    id_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    id_encrypted: Mapped[str] = mapped_column(sa.Text, nullable=False)
    id_masked: Mapped[str] = mapped_column(sa.String(18), nullable=False)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False, index=True)
    position: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    title: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    title_level: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    specialty: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    research_areas: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    tags: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    talent_programmes: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    major_projects: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    service_record: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    healthy: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    willing: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    mobile: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    office_phone: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    email: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    #: load cap: how many demands the expert serves at once (confirmed, not yet finished).
    capacity: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=3)
    #: how many applications the expert reviews at once (review passes its current counts).
    review_capacity: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=10)
    #: [{start, end, reason}] dates (ISO) the expert cannot serve.
    unavailable: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    #: registered | recommended | admitted | recommended_national | rejected (domain.pool.PoolStatus)
    pool_status: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="registered", index=True)
    pool_exception_reason: Mapped[str | None] = mapped_column(sa.Text)
    pool_decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    pool_decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    pool_note: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Recommendation(Base):
    """Which unit recommended the expert in which call (one per expert and call)."""

    __tablename__ = "recommendation"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    expert_id: Mapped[str] = mapped_column(sa.ForeignKey("expert.id"), nullable=False, index=True)
    call_id: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32))
    unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    #: the league/city whose quota the recommendation counts against.
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    #: application (an intake key_expert application) | import | officer
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    application_id: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    #: active | withdrawn (its application was withdrawn)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="active")
    opinion: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    __table_args__ = (sa.UniqueConstraint("expert_id", "call_id"),
                      sa.Index("ix_recommendation_quota", "call_id", "league_city_code", "status"))


class KnownCall(Base):
    """A call as intake announced it: its summary (with contacts, for notifications) and the pool quotas."""

    __tablename__ = "known_call"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    summary: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    #: key_expert programme quotas by unit kind: {"league_city": {"min": null, "max": 10}, ...}; None: unknown
    key_expert_quotas: Mapped[dict | None] = mapped_column(sa.JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Demand(Base):
    """A grassroots need (需求清单): posted by a unit or an officer, or arriving with a postdoc hosting application."""

    __tablename__ = "demand"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    call_id: Mapped[str | None] = mapped_column(sa.String(32))
    source_application_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    #: position of the demand in its application's form (makes a redelivered application a no-op).
    source_item: Mapped[int | None] = mapped_column(sa.Integer)
    application: Mapped[dict | None] = mapped_column(sa.JSON)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    demand_unit: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    place: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    field: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    tags: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    experts_wanted: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    start_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    end_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    #: whom to tell about a match: {"unit_contacts": [...], "user_ids": [...]}
    contacts: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    #: open | cancelled
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="open", index=True)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    __table_args__ = (sa.UniqueConstraint("source_application_id", "source_item"),)


class Proposal(Base):
    """One matching run over a set of demands: its items are proposed, then confirmed, rejected or swapped."""

    __tablename__ = "proposal"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    demand_ids: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    unmet: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    total_fit: Mapped[float] = mapped_column(sa.Float, nullable=False, default=0.0)
    slots_wanted: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    slots_filled: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    stats: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Assignment(Base):
    """An expert proposed for a demand; ``confirmed`` ones are the expert's matches (their load)."""

    __tablename__ = "assignment"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    proposal_id: Mapped[str] = mapped_column(sa.ForeignKey("proposal.id"), nullable=False, index=True)
    demand_id: Mapped[str] = mapped_column(sa.ForeignKey("demand.id"), nullable=False, index=True)
    expert_id: Mapped[str] = mapped_column(sa.ForeignKey("expert.id"), nullable=False, index=True)
    fit: Mapped[float] = mapped_column(sa.Float, nullable=False)
    explanation: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    #: proposed | confirmed | rejected | replaced | cancelled (its demand was cancelled)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="proposed", index=True)
    replaces_id: Mapped[str | None] = mapped_column(sa.String(32))
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class DeclaredConflict(Base):
    """An expert never serves (nor reviews) a unit, or one demand/application: declared with a reason."""

    __tablename__ = "declared_conflict"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    expert_id: Mapped[str] = mapped_column(sa.ForeignKey("expert.id"), nullable=False, index=True)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32))
    #: a demand id or an application id (review)
    subject_id: Mapped[str | None] = mapped_column(sa.String(32))
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False)
    declared_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class ServiceEntry(Base):
    """Service history: a project or demand the expert served, when, in what role, and the feedback."""

    __tablename__ = "service_entry"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    expert_id: Mapped[str] = mapped_column(sa.ForeignKey("expert.id"), nullable=False, index=True)
    demand_id: Mapped[str | None] = mapped_column(sa.String(32))
    application_id: Mapped[str | None] = mapped_column(sa.String(32))
    assignment_id: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    project: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="服务专家")
    place: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    start_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    end_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    feedback: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    rating: Mapped[int | None] = mapped_column(sa.Integer)
    #: match (a confirmed match) | officer (recorded by hand)
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    feedback_by: Mapped[str | None] = mapped_column(sa.String(64))
    feedback_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
