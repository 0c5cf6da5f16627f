"""Tables of the event machinery, present in every service's own database.

- `outbox_events`: one row per emitted event, written in the producer's transaction.
- `event_deliveries`: one row per (event, subscriber), created by the dispatcher's fan-out;
  the dispatcher's hot query reads it by (status, next_attempt_at).
- `event_delivery_attempts`: every POST tried, with its outcome (the audit trail).
- `event_inbox`: the consumer side: one row per processed `webhook-id`, inserted in the same
  transaction as the handler's changes (the primary key makes a replay a no-op).
- `event_backfills`: the consumer's progress through a producer's snapshot stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, new_metadata

# An auto-incrementing 64-bit key on PostgreSQL; SQLite only auto-increments INTEGER keys.
BigId = BigInteger().with_variant(Integer(), "sqlite")

PENDING = "pending"
# Waiting behind an earlier undelivered event of the same subscriber and ordering key; turned
# pending when that one is delivered or dead.
HELD = "held"
DELIVERED = "delivered"
DEAD = "dead"


class EventBase(DeclarativeBase):
    # A Table, not just a FromClause: Core inserts and updates take it (typed for mypy).
    __table__: ClassVar[Table]
    metadata = new_metadata()


class OutboxEvent(EventBase):
    """An event, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_events"

    # Write order; per-key delivery order follows it.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(120))
    community_id: Mapped[str | None] = mapped_column(String(64))
    # Events with the same key are delivered to each subscriber in the order they were written.
    ordering_key: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set once the dispatcher has created the event's delivery rows.
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_outbox_events_fanout", "fanned_out", "seq"),
        Index("ix_outbox_events_created_at", "created_at"),
    )


class Delivery(EventBase):
    """One event to one subscriber: held (behind an earlier one of its key), pending until a
    2xx, then delivered; dead after the last failed try."""

    __tablename__ = "event_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("outbox_events.id", ondelete="CASCADE")
    )
    event_seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(120))
    subscriber: Mapped[str] = mapped_column(String(64))
    ordering_key: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the row is next due; a claim pushes it forward by the lease, so a dispatcher
    # killed mid-send leaves a row that becomes due again on its own.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        # The hot query: due pending rows.
        Index("ix_event_deliveries_due", "status", "next_attempt_at"),
        # The per-key order check: an earlier pending row of the same subscriber and key.
        Index(
            "ix_event_deliveries_order", "subscriber", "ordering_key", "status", "event_seq"
        ),
        Index("ix_event_deliveries_event_id", "event_id"),
        Index("ix_event_deliveries_delivered_at", "status", "delivered_at"),
    )


class DeliveryAttempt(EventBase):
    __tablename__ = "event_delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("event_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_event_delivery_attempts_delivery_id", "delivery_id"),)


class InboxEntry(EventBase):
    """A processed `webhook-id` on the consumer side."""

    __tablename__ = "event_inbox"

    webhook_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(120))
    ordering_key: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_event_inbox_ordering_key", "ordering_key"),
        Index("ix_event_inbox_received_at", "received_at"),
    )


class Backfill(EventBase):
    """A consumer's pull of one producer stream: resumable, done once."""

    __tablename__ = "event_backfills"

    producer: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(512))
    items: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
