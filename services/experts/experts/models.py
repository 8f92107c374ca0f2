"""Experts' own tables."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


class Expert(Base):
    __tablename__ = "expert"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32))
    unit_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    title_level: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    specialty: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    tags: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    pool_status: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="registered")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Demand(Base):
    """A grassroots need (需求清单): posted by a unit, or arriving with a postdoc hosting application."""
    __tablename__ = "demand"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    source_application_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32))
    league_city_code: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    experts_wanted: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
