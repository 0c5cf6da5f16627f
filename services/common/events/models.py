"""Tables of the event machinery, present in every service's own database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, new_metadata


class EventBase(DeclarativeBase):
    metadata = new_metadata()


class OutboxEvent(EventBase):
    """An event, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(120))
    community_id: Mapped[str | None] = mapped_column(String(64))
    # Events with the same key are delivered to each subscriber in the order they were written.
    ordering_key: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_outbox_events_created_at", "created_at"),)
