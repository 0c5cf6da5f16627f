"""places, accounts, bindings, invitations, staff, refresh tokens, login failures

Revision ID: id0002
Revises: id0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = 'id0002'
down_revision = 'id0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('openid', sa.String(length=128), nullable=True),
    sa.Column('unionid', sa.String(length=128), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('platform_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('deleted_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('openid', name=op.f('uq_accounts_openid')),
    sa.UniqueConstraint('username', name=op.f('uq_accounts_username'))
    )
    op.create_table('login_failures',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_key', ['username', 'ip', 'created_at'], unique=False)

    op.create_table('buildings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_buildings_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buildings')),
    sa.UniqueConstraint('community_id', 'name', name=op.f('uq_buildings_community_id_name'))
    )
    op.create_table('refresh_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('used_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_refresh_tokens_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_family_id'), ['family_id'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('department', sa.String(length=20), nullable=True),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('left_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_staff_account_id_accounts')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_staff_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('community_id', 'account_id', name=op.f('uq_staff_community_id_account_id'))
    )
    op.create_table('rooms',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('building_id', sa.String(length=36), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('room_no', sa.String(length=50), nullable=False),
    sa.Column('area', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('owner_key', sa.String(length=200), nullable=True),
    sa.Column('owners', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_rooms_building_id_buildings')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_rooms_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rooms')),
    sa.UniqueConstraint('community_id', 'building_id', 'unit', 'room_no', name=op.f('uq_rooms_community_id_building_id_unit_room_no'))
    )
    op.create_table('bindings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('room_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('relation', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('parent_binding_id', sa.String(length=36), nullable=True),
    sa.Column('decided_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('decided_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bindings_account_id_accounts')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_bindings_community_id_communities')),
    sa.ForeignKeyConstraint(['parent_binding_id'], ['bindings.id'], name=op.f('fk_bindings_parent_binding_id_bindings')),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_bindings_room_id_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bindings'))
    )
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.create_index('ix_bindings_account_id', ['account_id'], unique=False)
        batch_op.create_index('ix_bindings_community_status', ['community_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_bindings_parent_binding_id', ['parent_binding_id'], unique=False)
        batch_op.create_index('ix_bindings_room_id', ['room_id'], unique=False)
        batch_op.create_index(
            'uq_bindings_live_account_room',
            ['account_id', 'room_id'],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'verified')"),
            postgresql_where=sa.text("status IN ('pending', 'verified')"),
        )

    op.create_table('invitations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('binding_id', sa.String(length=36), nullable=False),
    sa.Column('relation', sa.String(length=10), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('used_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['binding_id'], ['bindings.id'], name=op.f('fk_invitations_binding_id_bindings')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_invitations_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_invitations_code_hash'))
    )


def downgrade() -> None:
    op.drop_table('invitations')
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_index('uq_bindings_live_account_room')
        batch_op.drop_index('ix_bindings_room_id')
        batch_op.drop_index('ix_bindings_parent_binding_id')
        batch_op.drop_index('ix_bindings_community_status')
        batch_op.drop_index('ix_bindings_account_id')

    op.drop_table('bindings')
    op.drop_table('rooms')
    op.drop_table('staff')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_family_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_account_id'))

    op.drop_table('refresh_tokens')
    op.drop_table('buildings')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_key')

    op.drop_table('login_failures')
    op.drop_table('accounts')
