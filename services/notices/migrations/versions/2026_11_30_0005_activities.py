"""activities with sign-up: capacity, deadline, per-household limit, waitlist, check-in

Revision ID: no_manager15b_2
Revises: no_manager15b_1
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "no_manager15b_2"
down_revision = "no_manager15b_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("notice_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("location", sa.String(100), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("signup_deadline", UTCDateTime(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("per_household_limit", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("reminder_sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name="fk_activities_notice_id_notices", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("notice_id", name="pk_activities"),
    )
    op.create_index("ix_activities_community_starts", "activities", ["community_id", "starts_at"])
    op.create_index("ix_activities_reminder_due", "activities", ["reminder_sent_at", "starts_at"])
    op.create_table(
        "activity_signups",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("activity_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("active_account_id", sa.String(36), nullable=True),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("room_label", sa.String(120), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("checked_in_at", UTCDateTime(), nullable=True),
        sa.Column("checked_in_by", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.notice_id"],
            name="fk_activity_signups_activity_id_activities",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activity_signups"),
        sa.UniqueConstraint(
            "activity_id", "active_account_id", name="uq_activity_signups_activity_id_active_account_id"
        ),
        sa.UniqueConstraint("activity_id", "code", name="uq_activity_signups_activity_id_code"),
    )
    op.create_index(
        "ix_activity_signups_activity_status",
        "activity_signups",
        ["activity_id", "status", "created_at", "id"],
    )
    op.create_index("ix_activity_signups_account", "activity_signups", ["account_id", "status"])


def downgrade() -> None:
    # Loses every activity's sign-ups and check-ins.
    op.drop_index("ix_activity_signups_account", table_name="activity_signups")
    op.drop_index("ix_activity_signups_activity_status", table_name="activity_signups")
    op.drop_table("activity_signups")
    op.drop_index("ix_activities_reminder_due", table_name="activities")
    op.drop_index("ix_activities_community_starts", table_name="activities")
    op.drop_table("activities")
