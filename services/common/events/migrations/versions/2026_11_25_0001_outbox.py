"""outbox

Revision ID: ev0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "ev0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("community_id", sa.String(64), nullable=True),
        sa.Column("ordering_key", sa.String(128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_events"),
    )
    op.create_index("ix_outbox_events_created_at", "outbox_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_events_created_at", table_name="outbox_events")
    op.drop_table("outbox_events")
