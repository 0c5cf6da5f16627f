"""uploads: index for the per-account daily quota

Revision ID: re0003
Revises: re0002
Create Date: 2026-11-30
"""
from alembic import op

revision = "re0003"
down_revision = "re0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_repair_uploads_owner_created", "repair_uploads", ["owner_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_repair_uploads_owner_created", table_name="repair_uploads")
