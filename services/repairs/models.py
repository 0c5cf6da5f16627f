"""The repairs service's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.community_settings import CommunityConfigColumns
from services.common.db import UTCDateTime, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class CommunityConfig(CommunityConfigColumns, Base):
    """Per-community settings of this service (key: identity's community id): the categories."""


class Ticket(Base):
    """A repair request, complaint or suggestion, and where it stands.

    `version` is the optimistic lock: every transition updates `WHERE version = :seen`, so of
    two concurrent transitions on one ticket exactly one lands and the other gets 409.
    """

    __tablename__ = "repair_tickets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    reporter_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(30))
    room_id: Mapped[str | None] = mapped_column(String(36))
    place: Mapped[str] = mapped_column(String(200))  # room label, or the public-area location
    location: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    contact_phone: Mapped[str] = mapped_column(String(20))
    photo_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # resident: filed by the reporter; staff: 代客报修, filed by `filed_by` for the room.
    source: Mapped[str] = mapped_column(String(20), default="resident", server_default="resident")
    filed_by: Mapped[str | None] = mapped_column(String(36))
    # Accepted into its department's pool, waiting for a crew member to claim it (抢单).
    pooled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # msgSecCheck verdict: pass | review (accepted, flagged for staff) | unchecked (WeChat down)
    content_check: Mapped[str] = mapped_column(String(20), default="pass")
    status: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[str | None] = mapped_column(String(36))
    assignee_name: Mapped[str | None] = mapped_column(String(120))
    needs_reassignment: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    hold_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_urged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Durations kept at the moment they happen, so statistics are plain SQL on both databases.
    accept_seconds: Mapped[int | None] = mapped_column(Integer)
    arrive_seconds: Mapped[int | None] = mapped_column(Integer)  # submit -> first start
    resolve_seconds: Mapped[int | None] = mapped_column(Integer)
    # SLA clocks: deadlines, and whether each has been breached (reset on reopen).
    acknowledge_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    arrive_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledge_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    arrive_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolve_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    # The earliest deadline still running (rules.next_due): the crew's queue is sorted on it.
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_repair_tickets_community_created", "community_id", "created_at", "id"),
        Index("ix_repair_tickets_reporter", "reporter_id", "created_at"),
        Index("ix_repair_tickets_room", "room_id", "created_at"),
        Index("ix_repair_tickets_assignee", "assignee_id", "status"),
        Index("ix_repair_tickets_status", "status"),
        Index("ix_repair_tickets_queue", "assignee_id", "community_id", "status", "next_due_at", "id"),
        Index("ix_repair_tickets_pool", "community_id", "pooled", "status", "next_due_at", "id"),
        # Covers every column the statistics read, so they scan this index, not the rows.
        Index(
            "ix_repair_tickets_stats",
            "community_id", "created_at", "status", "category", "overdue", "rating",
            "reopen_count", "accept_seconds", "resolve_seconds",
        ),
    )


class TimelineEntry(Base):
    """One change of a ticket: who, in which role, when, from → to, note, photos."""

    __tablename__ = "repair_timeline"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), ForeignKey("repair_tickets.id"))
    community_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    # As the person was called then ("1栋101李明", "王师傅"): the owner's progress view.
    actor_name: Mapped[str | None] = mapped_column(String(120))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # A second writer of the same step fails here even if the version check were bypassed.
    __table_args__ = (UniqueConstraint("ticket_id", "seq"),)


class Upload(Base):
    """A photo, checked and cleaned, kept under uploads_dir; attached to at most one ticket.

    `community_id` is set when the photo is attached (an upload precedes its ticket)."""

    __tablename__ = "repair_uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    community_id: Mapped[str | None] = mapped_column(String(36))
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(80))
    # Attached to an internal (staff-only) comment: residents cannot open it.
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_repair_uploads_ticket", "ticket_id"),
        # The daily quota counts an account's uploads of the last 24 hours.
        Index("ix_repair_uploads_owner_created", "owner_id", "created_at"),
    )


class Comment(Base):
    """A message on a ticket: from staff or the reporter's household; `internal` ones are
    staff-only."""

    __tablename__ = "repair_comments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), ForeignKey("repair_tickets.id"))
    community_id: Mapped[str] = mapped_column(String(36))
    author_id: Mapped[str | None] = mapped_column(String(36))
    author_name: Mapped[str | None] = mapped_column(String(120))
    author_side: Mapped[str] = mapped_column(String(20))  # staff | resident
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    photo_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_check: Mapped[str] = mapped_column(String(20), default="pass")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_repair_comments_ticket", "ticket_id", "created_at", "id"),)
