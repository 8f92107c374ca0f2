"""Review's own tables."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


class Candidate(Base):
    """A submitted application as review knows it (from intake's events; never from intake's tables)."""
    __tablename__ = "candidate"
    application_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    call_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    programme_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    unit_id: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="in_review")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    snapshot: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Decision(Base):
    """Every decision with who, when, what and why (readable by officers and auditors)."""
    __tablename__ = "decision"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    application_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    action: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    actor_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    actor_role: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
