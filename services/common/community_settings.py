"""Per-community settings that a service keeps for itself: one table shape and one upsert.

Each service that needs settings declares `class CommunityConfig(CommunityConfigColumns, Base)`
in its models (table `community_configs` in its own database) and reads and writes it through
`read_settings` and `merge_settings`. The values are the service's own; what keys mean and
their defaults live in that service's rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow


class CommunityConfigColumns:
    """Columns of `community_configs` (key: identity's community id)."""

    __tablename__ = "community_configs"

    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


async def read_settings(
    session: AsyncSession,
    model: type[CommunityConfigColumns],
    community_id: str,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The community's stored values over `defaults` (a community never configured gets them)."""
    row = await session.get(model, community_id)
    return {**(defaults or {}), **((row.settings or {}) if row is not None else {})}


async def merge_settings(
    session: AsyncSession,
    model: type[CommunityConfigColumns],
    community_id: str,
    values: Mapping[str, Any],
    now: datetime,
) -> None:
    """Insert or update the row, replacing the given keys and keeping the others.

    Safe under concurrency: the row is locked while it is merged (PostgreSQL; SQLite's
    BEGIN IMMEDIATE serialises writers anyway), and of two first-ever writes racing to insert
    it, the loser merges into the winner's row instead of failing."""
    row = await session.get(model, community_id, with_for_update=True)
    if row is None:
        try:
            async with session.begin_nested():
                session.add(
                    model(community_id=community_id, settings=dict(values), updated_at=now)  # type: ignore[call-arg]
                )
            return
        except IntegrityError:
            row = await session.get(
                model, community_id, with_for_update=True, populate_existing=True
            )
            assert row is not None  # the concurrent insert that beat this one
    # A new dict, not an in-place change: the JSON column only notices reassignment.
    row.settings = {**(row.settings or {}), **values}
    row.updated_at = now
    await session.flush()
