"""notices: notices, reads, fan-out jobs, inbox, push consents, recipients and messages

Revision ID: no0002
Revises: no0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "no0002"
down_revision = "no0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("publish_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(36), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("expired_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
    )
    op.create_index("ix_notices_community_status", "notices", ["community_id", "status"])
    op.create_index("ix_notices_status_publish_at", "notices", ["status", "publish_at"])

    op.create_table(
        "notice_reads",
        sa.Column("notice_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", "account_id", "room_id", name="pk_notice_reads"),
    )
    op.create_index("ix_notice_reads_notice_room", "notice_reads", ["notice_id", "room_id"])

    op.create_table(
        "fanout_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("source_key", sa.String(120), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cursor", sa.String(36), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fanout_jobs"),
    )
    op.create_index("ix_fanout_jobs_status", "fanout_jobs", ["status", "created_at"])
    op.create_index("ix_fanout_jobs_source_key", "fanout_jobs", ["source_key"])

    op.create_table(
        "inbox_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("link", sa.String(200), nullable=False),
        sa.Column("source_key", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_entries"),
        sa.UniqueConstraint(
            "account_id", "source_key", name="uq_inbox_entries_account_id_source_key"
        ),
    )
    op.create_index(
        "ix_inbox_entries_account_created", "inbox_entries", ["account_id", "created_at", "id"]
    )

    op.create_table(
        "push_consents",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "template_id", name="pk_push_consents"),
    )
    op.create_table(
        "push_recipients",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_push_recipients"),
    )
    op.create_table(
        "push_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("page", sa.String(200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("source_key", sa.String(120), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_push_messages"),
    )
    op.create_index("ix_push_messages_due", "push_messages", ["status", "next_attempt_at"])
    op.create_index("ix_push_messages_source_key", "push_messages", ["source_key"])


def downgrade() -> None:
    # Drops every notice, read receipt, inbox entry and consent: data loss by design.
    for table in (
        "push_messages",
        "push_recipients",
        "push_consents",
        "inbox_entries",
        "fanout_jobs",
        "notice_reads",
        "notices",
    ):
        op.drop_table(table)
