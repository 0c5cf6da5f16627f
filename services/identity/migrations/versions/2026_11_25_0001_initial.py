"""initial: communities

Revision ID: id0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "id0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "communities",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_communities"),
    )
    op.create_index("ix_communities_community_id", "communities", ["community_id"])


def downgrade() -> None:
    op.drop_index("ix_communities_community_id", table_name="communities")
    op.drop_table("communities")
