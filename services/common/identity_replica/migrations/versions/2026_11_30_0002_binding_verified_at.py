"""replica bindings: verified_at (a household member sees what was filed after they were bound)

Revision ID: ir0002
Revises: ir0001
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "ir0002"
down_revision = "ir0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("replica_bindings", sa.Column("verified_at", UTCDateTime(), nullable=True))
    # Rows already here: the time the replica last heard of them is the best it knows (it is
    # no earlier than the verification, so nobody gains history they should not see).
    op.execute("UPDATE replica_bindings SET verified_at = updated_at")


def downgrade() -> None:
    op.drop_column("replica_bindings", "verified_at")
