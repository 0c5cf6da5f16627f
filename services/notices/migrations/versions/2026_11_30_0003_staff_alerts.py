"""notices: an inbox entry counts the causes it stands for (pending bindings counted into one)

Revision ID: no_staff13a_1
Revises: no0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "no_staff13a_1"
down_revision = "no0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_entries") as batch:
        batch.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    # Loses only the counts: each coalesced entry stays, read as one.
    with op.batch_alter_table("inbox_entries") as batch:
        batch.drop_column("count")
