"""turnout tools: paper and proxy ballots entered by staff, reminders to non-voters

Revision ID: vo_manager15b_1
Revises: vo0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "vo_manager15b_1"
down_revision = "vo0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ballots") as batch:
        batch.add_column(sa.Column("source", sa.String(10), nullable=False, server_default="online"))
        batch.add_column(sa.Column("signer", sa.String(50), nullable=True))
        batch.add_column(sa.Column("photo_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("entered_by", sa.String(36), nullable=True))
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("reminded_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    # Drops who entered paper ballots and when reminders went; the ballots themselves stay.
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("reminders_sent")
        batch.drop_column("reminded_at")
    with op.batch_alter_table("ballots") as batch:
        batch.drop_column("entered_by")
        batch.drop_column("photo_id")
        batch.drop_column("signer")
        batch.drop_column("source")
