"""accounts.roles_version and role_changes: staff rights end within seconds of removal

Revision ID: id0003
Revises: id0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = 'id0003'
down_revision = 'id0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('roles_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table('role_changes',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('roles_version', sa.Integer(), nullable=False),
    sa.Column('changed_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_role_changes'))
    )


def downgrade() -> None:
    # Drops the record of recent role changes (harmless: tokens then carry no version).
    op.drop_table('role_changes')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('roles_version')
