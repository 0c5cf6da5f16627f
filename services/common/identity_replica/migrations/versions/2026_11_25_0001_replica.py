"""identity replica: communities, rooms, bindings, staff

Revision ID: ir0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "ir0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replica_communities",
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", name="pk_replica_communities"),
    )
    op.create_table(
        "replica_rooms",
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("building_id", sa.String(36), nullable=False),
        sa.Column("building_name", sa.String(50), nullable=False),
        sa.Column("unit", sa.String(50), nullable=True),
        sa.Column("room_no", sa.String(50), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("area", sa.Numeric(12, 2), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("owner_key", sa.String(128), nullable=True),
        sa.Column("owners", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", name="pk_replica_rooms"),
    )
    op.create_index(
        "ix_replica_rooms_community_building", "replica_rooms", ["community_id", "building_id"]
    )
    op.create_table(
        "replica_bindings",
        sa.Column("binding_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("relation", sa.String(20), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("parent_binding_id", sa.String(36), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("binding_id", name="pk_replica_bindings"),
    )
    op.create_index("ix_replica_bindings_account", "replica_bindings", ["account_id", "active"])
    op.create_index("ix_replica_bindings_room", "replica_bindings", ["room_id", "active"])
    op.create_index("ix_replica_bindings_community", "replica_bindings", ["community_id", "active"])
    op.create_table(
        "replica_staff",
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("staff_id", sa.String(36), nullable=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("department", sa.String(30), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", "account_id", name="pk_replica_staff"),
    )


def downgrade() -> None:
    op.drop_table("replica_staff")
    op.drop_index("ix_replica_bindings_community", table_name="replica_bindings")
    op.drop_index("ix_replica_bindings_room", table_name="replica_bindings")
    op.drop_index("ix_replica_bindings_account", table_name="replica_bindings")
    op.drop_table("replica_bindings")
    op.drop_index("ix_replica_rooms_community_building", table_name="replica_rooms")
    op.drop_table("replica_rooms")
    op.drop_table("replica_communities")
