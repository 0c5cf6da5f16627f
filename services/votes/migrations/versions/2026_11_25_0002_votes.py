"""votes, items, electorate snapshots, ballots and answers

Revision ID: vo0002
Revises: vo0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime

revision = "vo0002"
down_revision = "vo0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "votes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("building_ids", sa.JSON(), nullable=True),
        sa.Column("opens_at", UTCDateTime(), nullable=True),
        sa.Column("closes_at", UTCDateTime(), nullable=False),
        sa.Column("allow_change", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("live_results", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("tally_settings", sa.JSON(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closing_soon_sent", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_votes"),
    )
    op.create_index("ix_votes_community_created", "votes", ["community_id", "created_at"])
    op.create_index("ix_votes_status_closes_at", "votes", ["status", "closes_at"])
    op.create_table(
        "vote_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("vote_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("matter", sa.String(10), nullable=True),
        sa.Column("max_choices", sa.Integer(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["vote_id"], ["votes.id"], name="fk_vote_items_vote_id_votes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_vote_items"),
    )
    op.create_index("ix_vote_items_vote", "vote_items", ["vote_id", "position"])
    op.create_table(
        "vote_electorate",
        sa.Column("vote_id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("building_id", sa.String(36), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("area_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("owner_key", sa.String(128), nullable=True),
        sa.Column("owner_unit", sa.Integer(), nullable=False),
        sa.Column("multi_room", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["vote_id"], ["votes.id"], name="fk_vote_electorate_vote_id_votes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("vote_id", "room_id", name="pk_vote_electorate"),
    )
    op.create_index("ix_vote_electorate_tally", "vote_electorate", ["vote_id", "owner_unit", "area_hundredths"])
    op.create_index("ix_vote_electorate_room", "vote_electorate", ["room_id"])
    op.create_table(
        "ballots",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("vote_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("active_room_id", sa.String(36), nullable=True),
        sa.Column("cast_by", sa.String(36), nullable=True),
        sa.Column("cast_at", UTCDateTime(), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["vote_id"], ["votes.id"], name="fk_ballots_vote_id_votes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_ballots"),
        sa.UniqueConstraint("vote_id", "active_room_id", name="uq_ballots_vote_id_active_room_id"),
    )
    op.create_index("ix_ballots_vote_room", "ballots", ["vote_id", "room_id"])
    op.create_table(
        "ballot_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("vote_id", sa.String(36), nullable=False),
        sa.Column("community_id", sa.String(36), nullable=False),
        sa.Column("ballot_id", sa.String(36), nullable=True),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("option_id", sa.String(36), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=True),
        sa.Column("owner_unit", sa.Integer(), nullable=True),
        sa.Column("multi_room", sa.Boolean(), nullable=True),
        sa.Column("area_hundredths", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["vote_id"], ["votes.id"], name="fk_ballot_answers_vote_id_votes", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ballot_id"], ["ballots.id"], name="fk_ballot_answers_ballot_id_ballots", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_ballot_answers"),
    )
    op.create_index("ix_ballot_answers_ballot", "ballot_answers", ["ballot_id"])
    op.create_index(
        "ix_ballot_answers_tally",
        "ballot_answers",
        ["vote_id", "standing", "multi_room", "item_id", "owner_unit", "option_id", "area_hundredths"],
    )


def downgrade() -> None:
    # Drops every vote, ballot and answer.
    op.drop_table("ballot_answers")
    op.drop_table("ballots")
    op.drop_table("vote_electorate")
    op.drop_table("vote_items")
    op.drop_table("votes")
