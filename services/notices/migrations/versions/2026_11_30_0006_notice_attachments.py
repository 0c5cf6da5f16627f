"""notice_attachments: pictures and PDF files of notices

Revision ID: no_owner15a_1
Revises: no_manager15b_2
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "no_owner15a_1"
down_revision = "no_manager15b_2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_attachments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("notice_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(60), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_attachments")),
    )
    op.create_index(
        "ix_notice_attachments_notice", "notice_attachments", ["notice_id", "created_at"]
    )


def downgrade() -> None:
    # Drops the attachments' rows (their files stay in the files folder).
    op.drop_index("ix_notice_attachments_notice", table_name="notice_attachments")
    op.drop_table("notice_attachments")
