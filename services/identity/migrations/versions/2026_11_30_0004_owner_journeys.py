"""communities.city, community_scenes (QR codes) and community_cards (contact card)

Revision ID: id_owner15a_1
Revises: id0003
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = 'id_owner15a_1'
down_revision = 'id0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('communities') as batch:
        batch.add_column(sa.Column('city', sa.String(length=50), nullable=True))
    op.create_table('community_scenes',
    sa.Column('scene', sa.String(length=32), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('building_id', sa.String(length=36), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_scenes_community_id_communities')),
    sa.PrimaryKeyConstraint('scene', name=op.f('pk_community_scenes')),
    sa.UniqueConstraint('community_id', 'building_id', name=op.f('uq_community_scenes_community_id_building_id'))
    )
    op.create_table('community_cards',
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('service_phone', sa.String(length=30), nullable=True),
    sa.Column('office_hours', sa.String(length=100), nullable=True),
    sa.Column('emergency_numbers', sa.JSON(), nullable=False),
    sa.Column('group_rules', sa.String(length=5000), nullable=True),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_cards_community_id_communities')),
    sa.PrimaryKeyConstraint('community_id', name=op.f('pk_community_cards'))
    )


def downgrade() -> None:
    # Drops the QR codes and contact cards (printed codes stop resolving) and the cities.
    op.drop_table('community_cards')
    op.drop_table('community_scenes')
    with op.batch_alter_table('communities') as batch:
        batch.drop_column('city')
