"""event machinery: outbox, deliveries, attempts, inbox, backfills

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

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("seq", BigId, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("community_id", sa.String(64), nullable=True),
        sa.Column("ordering_key", sa.String(128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox_events"),
        sa.UniqueConstraint("id", name="uq_outbox_events_id"),
    )
    op.create_index("ix_outbox_events_fanout", "outbox_events", ["fanned_out", "seq"])
    op.create_index("ix_outbox_events_created_at", "outbox_events", ["created_at"])

    op.create_table(
        "event_deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("subscriber", sa.String(64), nullable=False),
        sa.Column("ordering_key", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_event_deliveries"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name="fk_event_deliveries_event_id_outbox_events",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_event_deliveries_due", "event_deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_event_deliveries_order",
        "event_deliveries",
        ["subscriber", "ordering_key", "status", "event_seq"],
    )
    op.create_index("ix_event_deliveries_event_id", "event_deliveries", ["event_id"])
    op.create_index(
        "ix_event_deliveries_delivered_at", "event_deliveries", ["status", "delivered_at"]
    )

    op.create_table(
        "event_delivery_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_event_delivery_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["event_deliveries.id"],
            name="fk_event_delivery_attempts_delivery_id_event_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_event_delivery_attempts_delivery_id", "event_delivery_attempts", ["delivery_id"]
    )

    op.create_table(
        "event_inbox",
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("ordering_key", sa.String(128), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_event_inbox"),
    )
    op.create_index("ix_event_inbox_ordering_key", "event_inbox", ["ordering_key"])
    op.create_index("ix_event_inbox_received_at", "event_inbox", ["received_at"])

    op.create_table(
        "event_backfills",
        sa.Column("producer", sa.String(32), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("cursor", sa.String(512), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("producer", "stream", name="pk_event_backfills"),
    )


def downgrade() -> None:
    op.drop_table("event_backfills")
    op.drop_table("event_inbox")
    op.drop_table("event_delivery_attempts")
    op.drop_table("event_deliveries")
    op.drop_table("outbox_events")
