"""The votes service's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.community_settings import CommunityConfigColumns
from services.common.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class CommunityConfig(CommunityConfigColumns, Base):
    """Per-community settings of this service (key: identity's community id).

    Keys and defaults: see `rules.DEFAULT_COMMUNITY_SETTINGS`."""


class Vote(Base):
    """A vote (motions, legal tally) or a survey (questions, counts)."""

    __tablename__ = "votes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))  # vote | survey
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # None: the whole community; else the listed buildings.
    building_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    allow_change: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    live_results: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # The community settings in force, frozen when the vote opens.
    tally_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The results as published at closing.
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closing_soon_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last reminder to non-voters (turnout.py), for its rate limit, and how many went.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_votes_community_created", "community_id", "created_at"),
        Index("ix_votes_status_closes_at", "status", "closes_at"),
    )


class VoteItem(Base):
    """A motion of a vote, or a question of a survey."""

    __tablename__ = "vote_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vote_id: Mapped[str] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    community_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # motion | single | multiple | text
    title: Mapped[str] = mapped_column(String(500))
    matter: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ordinary | major
    max_choices: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # [{"id", "label"}]
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_vote_items_vote", "vote_id", "position"),)


class Elector(Base):
    """A room of a vote's electorate, snapshotted at opening and never changed after.

    The area is stored in hundredths of a square metre (an integer): exact on every backend
    and summed exactly by the database."""

    __tablename__ = "vote_electorate"

    vote_id: Mapped[str] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(120))
    area_hundredths: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))
    owner_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Who the room counts as in the headcount (`tally_rules.owner_unit` at the snapshot), numbered
    # within the vote: rooms with the same number are one owner.
    owner_unit: Mapped[int] = mapped_column(Integer)
    # Whether that owner holds other rooms of the electorate too (else the room is the owner).
    multi_room: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_vote_electorate_tally", "vote_id", "owner_unit", "area_hundredths"),
        Index("ix_vote_electorate_room", "room_id"),
    )


class Ballot(Base):
    """A ballot of one room. `active_room_id` equals `room_id` while the ballot stands and is
    NULL once a changed ballot replaced it; the unique constraint on (vote_id, active_room_id)
    is what guarantees one standing ballot per room, whatever the concurrency."""

    __tablename__ = "ballots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vote_id: Mapped[str] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    community_id: Mapped[str] = mapped_column(String(36))
    room_id: Mapped[str] = mapped_column(String(36))
    active_room_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # None for anonymous surveys: only that the room answered is kept.
    cast_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # online (cast in the Mini Program) | paper | proxy (entered by staff: paper_ballots.py).
    source: Mapped[str] = mapped_column(String(10), default="online", server_default="online")
    # Paper and proxy ballots: who signed the paper, the photo of it (an upload id), who
    # entered it.
    signer: Mapped[str | None] = mapped_column(String(50), nullable=True)
    photo_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entered_by: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (
        UniqueConstraint("vote_id", "active_room_id", name="uq_ballots_vote_id_active_room_id"),
        Index("ix_ballots_vote_room", "vote_id", "room_id"),
    )


class BallotAnswer(Base):
    """One chosen option (or a free-text answer) of a ballot. For anonymous surveys
    `ballot_id`, `room_id`, `owner_unit`, `multi_room` and `area_hundredths` are NULL: the answer cannot be
    traced to a room.

    The room's area and owner unit are copied from the electorate snapshot (fixed for the
    vote's life) and `standing` is cleared when a changed ballot replaces this one, so the tally
    is a grouped scan of this one table (see `tally.aggregate_motions`)."""

    __tablename__ = "ballot_answers"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    vote_id: Mapped[str] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    community_id: Mapped[str] = mapped_column(String(36))
    ballot_id: Mapped[str | None] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"), nullable=True)
    item_id: Mapped[str] = mapped_column(String(36))
    option_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    standing: Mapped[bool] = mapped_column(Boolean, default=True)
    room_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    owner_unit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    multi_room: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    area_hundredths: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index("ix_ballot_answers_ballot", "ballot_id"),
        Index(
            "ix_ballot_answers_tally",
            "vote_id",
            "standing",
            "multi_room",
            "item_id",
            "owner_unit",
            "option_id",
            "area_hundredths",
        ),
    )
