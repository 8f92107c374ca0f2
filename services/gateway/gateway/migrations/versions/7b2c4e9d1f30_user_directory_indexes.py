"""user_account indexes for the people directory

notify asks the gateway who holds a role and who belongs to a unit (``users_with_role``, ``users_of_unit``);
both read the whole user table without an index, a province's users each time.

Revision ID: 7b2c4e9d1f30
Revises: 9e3e17799ae2
Create Date: 2026-11-30 12:50:00
"""
from alembic import op


revision = '7b2c4e9d1f30'
down_revision = '9e3e17799ae2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index('ix_user_account_role', ['role'], unique=False)
        batch_op.create_index('ix_user_account_unit_id', ['unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_unit_id')
        batch_op.drop_index('ix_user_account_role')
