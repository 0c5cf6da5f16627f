"""resend to the unread (last_resent_at, resend_count) and the care list with its reveals

Revision ID: no_manager15b_1
Revises: no_staff13a_1
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "no_manager15b_1"
down_revision = "no_staff13a_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("last_resent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("resend_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "care_households",
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("contact_name", sa.String(50), nullable=False),
        sa.Column("contact_phone", sa.String(20), nullable=False),
        sa.Column("flagged_by", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", name="pk_care_households"),
    )
    op.create_index("ix_care_households_community", "care_households", ["community_id", "room_id"])
    op.create_table(
        "care_reveals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("room_label", sa.String(120), nullable=False),
        sa.Column("revealed_by", sa.String(36), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("revealed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_care_reveals"),
    )
    op.create_index(
        "ix_care_reveals_community_at", "care_reveals", ["community_id", "revealed_at", "id"]
    )


def downgrade() -> None:
    # Loses the care list and the record of reveals.
    op.drop_index("ix_care_reveals_community_at", table_name="care_reveals")
    op.drop_table("care_reveals")
    op.drop_index("ix_care_households_community", table_name="care_households")
    op.drop_table("care_households")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("resend_count")
        batch.drop_column("last_resent_at")
