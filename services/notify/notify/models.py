"""Notify's own tables."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


class Message(Base):
    """One message to one recipient over one channel; ``dedup_key`` makes a redelivered event send nothing."""
    __tablename__ = "message"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    dedup_key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    event_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    event_type: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    recipient_user_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    recipient_unit_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    recipient_name: Mapped[str | None] = mapped_column(sa.String(100))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    channel: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
