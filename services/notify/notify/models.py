"""Notify's own tables: messages (one per person and channel, the delivery log), channel preferences, and
the facts notify learns from other services' events to compute reminders and fill thin payloads.

Notify never reads another service's database: everything in the ``*_fact`` tables arrived by event.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


# the statuses a delivery worker claims from (notify.usecases.DUE_STATUSES) and the in-app channel, as the
# partial indexes below spell them
_DUE = sa.text("status IN ('pending', 'retrying', 'sending')")
_INBOX = sa.text("channel = 'inapp'")


class Message(Base):
    """One message to one recipient over one channel; ``dedup_key`` makes a redelivered event send nothing.

    Status: ``pending`` -> (``sending``, leased to one delivery worker) -> ``sent`` | ``retrying`` |
    ``failed``; ``skipped`` when the channel is not configured (no SMTP_HOST). In-app messages are
    ``sent`` when stored.
    """
    __tablename__ = "message"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    dedup_key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    event_id: Mapped[str] = mapped_column(sa.String(160), nullable=False, index=True)
    event_type: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    event_source: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    audience: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    recipient_user_id: Mapped[str | None] = mapped_column(sa.String(64))
    recipient_unit_id: Mapped[str | None] = mapped_column(sa.String(32))
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

    # Each index is paid for by every message stored (several per event): one per query that needs it, and
    # partial where the query reads a small part of the table.
    __table_args__ = (
        # the e-mail and SMS a delivery worker may claim (``claim_due``), nothing else: in-app messages are
        # stored sent and skipped ones are final, so most rows never enter it
        sa.Index("ix_message_due", "next_attempt_at", postgresql_where=_DUE, sqlite_where=_DUE),
        # one user's in-app inbox, newest first (``my_messages``, ``unread_count``)
        sa.Index("ix_message_inbox", "recipient_user_id", "created_at", postgresql_where=_INBOX,
                 sqlite_where=_INBOX),
        # the delivery log, newest first, whatever it is filtered by (``delivery_log``)
        sa.Index("ix_message_created_at", "created_at"),
    )


class Preference(Base):
    """The channels one user accepts (absent: the defaults, e-mail and in-app)."""
    __tablename__ = "preference"
    user_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    channels: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class CallFact(Base):
    """An open call as intake announced it (call_opened): summary with contacts, deadline, quotas."""
    __tablename__ = "call_fact"
    call_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    summary: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    deadline: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    programmes: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class ApplicationFact(Base):
    """An application as the events described it; fills events that carry only ids (funding's)."""
    __tablename__ = "application_fact"
    application_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    call_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    call: Mapped[dict | None] = mapped_column(sa.JSON)
    application: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    recipients: Mapped[dict | None] = mapped_column(sa.JSON)
    status: Mapped[str | None] = mapped_column(sa.String(30))
    report_due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    report_filed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class RoundFact(Base):
    """A review round (review_round_opened / reviewer_assigned): when it closes."""
    __tablename__ = "round_fact"
    round_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    call: Mapped[dict | None] = mapped_column(sa.JSON)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    close_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class AssignmentFact(Base):
    """One reviewer assigned one application in a round; ``scored_at`` once review says it was scored."""
    __tablename__ = "assignment_fact"
    round_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    reviewer: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    scored_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ReminderRun(Base):
    """A reminder already turned into messages (its deterministic domain id): each is made once."""
    __tablename__ = "reminder_run"
    reminder_id: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    reminder_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    messages: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
