"""staff side: ticket source and pool, the next due clock, arrival time, comments, internal photos

Revision ID: re_staff13b_1
Revises: re0003
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "re_staff13b_1"
down_revision = "re0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repair_tickets") as batch:
        batch.add_column(sa.Column("source", sa.String(20), nullable=False, server_default="resident"))
        batch.add_column(sa.Column("filed_by", sa.String(36), nullable=True))
        batch.add_column(sa.Column("pooled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("arrive_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("next_due_at", UTCDateTime(), nullable=True))
    # The earliest deadline still running (rules.next_due); existing tickets get the clock
    # their status runs (a configured arrive shorter than the acknowledgement is rare enough).
    op.execute(
        "UPDATE repair_tickets SET next_due_at = CASE "
        "WHEN status = 'submitted' THEN acknowledge_due_at "
        "WHEN status IN ('accepted', 'assigned') THEN arrive_due_at "
        "ELSE resolve_due_at END"
    )
    with op.batch_alter_table("repair_tickets") as batch:
        batch.alter_column("next_due_at", existing_type=UTCDateTime(), nullable=False)
        batch.create_index(
            "ix_repair_tickets_queue", ["assignee_id", "community_id", "status", "next_due_at", "id"]
        )
        batch.create_index(
            "ix_repair_tickets_pool", ["community_id", "pooled", "status", "next_due_at", "id"]
        )
    with op.batch_alter_table("repair_uploads") as batch:
        batch.add_column(sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "repair_comments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("ticket_id", sa.String(36), sa.ForeignKey("repair_tickets.id"), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=True),
        sa.Column("author_name", sa.String(120), nullable=True),
        sa.Column("author_side", sa.String(20), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("content_check", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_repair_comments_ticket", "repair_comments", ["ticket_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_repair_comments_ticket", table_name="repair_comments")
    op.drop_table("repair_comments")
    with op.batch_alter_table("repair_uploads") as batch:
        batch.drop_column("internal")
    with op.batch_alter_table("repair_tickets") as batch:
        batch.drop_index("ix_repair_tickets_pool")
        batch.drop_index("ix_repair_tickets_queue")
        for column in ("next_due_at", "arrive_seconds", "pooled", "filed_by", "source"):
            batch.drop_column(column)
