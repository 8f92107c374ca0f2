"""Review's own tables. Facts about applications and reviewers are copies from other services' events and
RPC answers (never their tables); rules live in ``review.domain`` and these rows are its values at rest."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


class ReviewCall(Base):
    """A call as review knows it from intake's ``call_opened``: deadline, programmes, selection caps."""
    __tablename__ = "review_call"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    deadline: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    summary: Mapped[dict] = mapped_column(sa.JSON, nullable=False)       # intake's call summary (contacts...)
    programmes: Mapped[list] = mapped_column(sa.JSON, nullable=False)    # [{code, name, rolling, selection}]
    rubrics: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    # the call's review settings (intake's definition ``review``): round defaults k, load cap, bonus policy
    settings: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)


class Candidate(Base):
    """A submitted application as review knows it (from intake's events; never from intake's tables)."""
    __tablename__ = "candidate"
    application_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    call_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    programme_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    unit_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    # in_review | withdrawn | forfeited | selected | recommended_national | not_selected
    status: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="in_review")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    service_places: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    snapshot: Mapped[dict] = mapped_column(sa.JSON, nullable=False)     # {call, application, recipients}
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    __table_args__ = (sa.Index("ix_candidate_call_programme", "call_id", "programme_code"),)


class Round(Base):
    __tablename__ = "review_round"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    programme_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    deadline: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    rolling: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    reviewers_per_application: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    load_cap: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    close_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)   # planned end of scoring
    state: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="draft")
    rubric: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    bonus_policy: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    caps: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    selection_keys: Mapped[dict] = mapped_column(sa.JSON, nullable=False)   # outcome -> {key, label}
    created_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (sa.UniqueConstraint("call_id", "programme_code", name="uq_round_call_programme"),)


class Reviewer(Base):
    """A reviewer as the experts service last described them (refreshed with every proposal)."""
    __tablename__ = "reviewer"
    expert_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32))
    league_city_code: Mapped[str | None] = mapped_column(sa.String(6))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    mobile: Mapped[str | None] = mapped_column(sa.String(30))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Assignment(Base):
    __tablename__ = "assignment"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    round_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    application_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    reviewer_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    status: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="active")
    fit: Mapped[float | None] = mapped_column(sa.Float)
    explanation: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    assigned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    conflict_reason: Mapped[str | None] = mapped_column(sa.Text)
    conflict_declared_by: Mapped[str | None] = mapped_column(sa.String(64))
    conflict_declared_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    __table_args__ = (
        # one row per (round, application, reviewer): a refused pair is never assigned again
        sa.UniqueConstraint("round_id", "application_id", "reviewer_id", name="uq_assignment_pair"),
    )


class ScoreSheet(Base):
    __tablename__ = "score_sheet"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    assignment_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, unique=True)
    round_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    application_id: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    reviewer_id: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    scores: Mapped[dict] = mapped_column(sa.JSON, nullable=False)        # criterion -> decimal string
    comments: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    weighted_total: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    revision: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class SelectionProposal(Base):
    __tablename__ = "selection_proposal"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    round_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    lines: Mapped[list] = mapped_column(sa.JSON, nullable=False)       # [{application_id, outcome, reason, amount}]
    ranking: Mapped[list] = mapped_column(sa.JSON, nullable=False)     # the ranking it was proposed against
    proposed_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    proposed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    note: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending")
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)


class MinistryDecision(Base):
    __tablename__ = "ministry_decision"
    application_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    round_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    approved: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    document_ref: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    decided_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    amount: Mapped[str | None] = mapped_column(sa.String(20))
    recorded_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    corrections: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)


class FiledReport(Base):
    """A report (工作总结) intake says was filed: what a post-evaluation scores."""
    __tablename__ = "filed_report"
    application_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    report_id: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    unit_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    programme_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    filed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    snapshot: Mapped[dict] = mapped_column(sa.JSON, nullable=False)


class PostEvaluation(Base):
    __tablename__ = "post_evaluation"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, unique=True)
    report_id: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    unit_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    programme_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    scores: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    comments: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    total: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    grade: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    remark: Mapped[str | None] = mapped_column(sa.Text)
    evaluated_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    evaluated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class PriorityListRow(Base):
    """The priority-region reference list officers maintain; one current row, earlier versions kept."""
    __tablename__ = "priority_list"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    data: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    current: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    updated_by: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Decision(Base):
    """Every decision with who, when, what and why (readable by officers and auditors)."""
    __tablename__ = "decision"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    round_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    subject_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    application_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    actor_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    actor_role: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    why: Mapped[str | None] = mapped_column(sa.Text)
    what: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
