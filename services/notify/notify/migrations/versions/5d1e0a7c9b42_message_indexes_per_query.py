"""message indexes, one per query that needs it

Every message stored paid for seven indexes. Now: the primary key, the dedup key, the event id, and three
that serve a query each: the due e-mail/SMS (partial: only rows a delivery worker may claim), a user's in-app
inbox (partial: in-app rows only) and the delivery log by time. The indexes on event type and recipient unit
served no query (the log's recipient filter scans by name anyway), and the log had none for its order.

Revision ID: 5d1e0a7c9b42
Revises: c28fc754df2a
Create Date: 2026-11-30 09:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '5d1e0a7c9b42'
down_revision = 'c28fc754df2a'
branch_labels = None
depends_on = None

DUE = sa.text("status IN ('pending', 'retrying', 'sending')")
INBOX = sa.text("channel = 'inapp'")


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_due')
        batch_op.drop_index('ix_message_event_type')
        batch_op.drop_index('ix_message_recipient_user_id')
        batch_op.drop_index('ix_message_recipient_unit_id')
        batch_op.create_index('ix_message_due', ['next_attempt_at'], unique=False,
                              postgresql_where=DUE, sqlite_where=DUE)
        batch_op.create_index('ix_message_inbox', ['recipient_user_id', 'created_at'], unique=False,
                              postgresql_where=INBOX, sqlite_where=INBOX)
        batch_op.create_index('ix_message_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_created_at')
        batch_op.drop_index('ix_message_inbox')
        batch_op.drop_index('ix_message_due')
        batch_op.create_index('ix_message_recipient_unit_id', ['recipient_unit_id'], unique=False)
        batch_op.create_index('ix_message_recipient_user_id', ['recipient_user_id'], unique=False)
        batch_op.create_index('ix_message_event_type', ['event_type'], unique=False)
        batch_op.create_index('ix_message_due', ['status', 'next_attempt_at'], unique=False)
