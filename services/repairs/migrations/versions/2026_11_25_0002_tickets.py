"""tickets, timeline, uploads

Revision ID: re0002
Revises: re0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "re0002"
down_revision = "re0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repair_tickets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("reporter_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("department", sa.String(30), nullable=True),
        sa.Column("room_id", sa.String(36), nullable=True),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact_phone", sa.String(20), nullable=False),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("content_check", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assignee_id", sa.String(36), nullable=True),
        sa.Column("assignee_name", sa.String(120), nullable=True),
        sa.Column("needs_reassignment", sa.Boolean(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("last_urged_at", UTCDateTime(), nullable=True),
        sa.Column("accept_seconds", sa.Integer(), nullable=True),
        sa.Column("resolve_seconds", sa.Integer(), nullable=True),
        sa.Column("acknowledge_due_at", UTCDateTime(), nullable=False),
        sa.Column("arrive_due_at", UTCDateTime(), nullable=False),
        sa.Column("resolve_due_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledge_breached", sa.Boolean(), nullable=False),
        sa.Column("arrive_breached", sa.Boolean(), nullable=False),
        sa.Column("resolve_breached", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repair_tickets"),
    )
    op.create_index(
        "ix_repair_tickets_community_created", "repair_tickets", ["community_id", "created_at", "id"]
    )
    op.create_index("ix_repair_tickets_reporter", "repair_tickets", ["reporter_id", "created_at"])
    op.create_index("ix_repair_tickets_room", "repair_tickets", ["room_id", "created_at"])
    op.create_index("ix_repair_tickets_assignee", "repair_tickets", ["assignee_id", "status"])
    op.create_index("ix_repair_tickets_status", "repair_tickets", ["status"])
    op.create_index(
        "ix_repair_tickets_stats",
        "repair_tickets",
        [
            "community_id", "created_at", "status", "category", "overdue", "rating",
            "reopen_count", "accept_seconds", "resolve_seconds",
        ],
    )
    op.create_table(
        "repair_timeline",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("actor_name", sa.String(120), nullable=True),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repair_timeline"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["repair_tickets.id"], name="fk_repair_timeline_ticket_id_repair_tickets"
        ),
        sa.UniqueConstraint("ticket_id", "seq", name="uq_repair_timeline_ticket_id_seq"),
    )
    op.create_table(
        "repair_uploads",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=True),
        sa.Column("ticket_id", sa.String(36), nullable=True),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repair_uploads"),
    )
    op.create_index("ix_repair_uploads_ticket", "repair_uploads", ["ticket_id"])


def downgrade() -> None:
    # Drops every ticket, timeline entry and upload record (the files stay on disk).
    op.drop_table("repair_uploads")
    op.drop_table("repair_timeline")
    op.drop_table("repair_tickets")
