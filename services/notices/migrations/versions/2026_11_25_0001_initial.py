"""initial: community_configs

Revision ID: no0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "no0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "community_configs",
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", name="pk_community_configs"),
    )


def downgrade() -> None:
    op.drop_table("community_configs")
