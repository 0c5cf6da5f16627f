"""Dispatcher housekeeping: the pending/dead gauges, the release of orphaned keys, and the
pruning of delivered events and old inbox entries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import execute_dml
from services.common.events import metrics
from services.common.events.models import (
    DEAD,
    DELIVERED,
    HELD,
    PENDING,
    Delivery,
    InboxEntry,
    OutboxEvent,
)


async def refresh_gauges(session: AsyncSession, producer: str, subscribers: Iterable[str]) -> None:
    """Sets `events_deliveries_pending` (held ones count: they wait too) and `..._dead`."""
    rows = (
        await session.execute(
            select(Delivery.subscriber, Delivery.status, func.count())
            .where(Delivery.status.in_([PENDING, HELD, DEAD]))
            .group_by(Delivery.subscriber, Delivery.status)
        )
    ).all()
    counts: dict[tuple[str, str], int] = {}
    for sub, status, n in rows:
        key = (sub, DEAD if status == DEAD else PENDING)  # held ones are waiting too
        counts[key] = counts.get(key, 0) + int(n)
    for name in subscribers:
        metrics.DELIVERIES_PENDING.labels(producer, name).set(counts.get((name, PENDING), 0))
        metrics.DELIVERIES_DEAD.labels(producer, name).set(counts.get((name, DEAD), 0))


async def orphaned_keys(session: AsyncSession) -> list[tuple[str, str | None]]:
    """The (subscriber, key) pairs with held deliveries but none pending (say, after an
    operator moved rows by hand). Normally none."""
    held = (
        await session.execute(
            select(Delivery.subscriber, Delivery.ordering_key)
            .where(Delivery.status == HELD)
            .distinct()
        )
    ).all()
    if not held:
        return []
    heads = set(
        (
            await session.execute(
                select(Delivery.subscriber, Delivery.ordering_key)
                .where(Delivery.status == PENDING, Delivery.ordering_key.is_not(None))
                .distinct()
            )
        ).all()
    )
    return [(s, k) for s, k in held if (s, k) not in heads]


async def prune(session: AsyncSession, cutoff: datetime) -> int:
    """Deletes events whose every delivery succeeded before the cutoff (their deliveries and
    attempts go with them), and inbox entries older than the cutoff; returns the events."""
    undelivered = exists().where(Delivery.event_id == OutboxEvent.id, Delivery.status != DELIVERED)
    recent = exists().where(Delivery.event_id == OutboxEvent.id, Delivery.delivered_at >= cutoff)
    pruned = await execute_dml(
        session,
        delete(OutboxEvent)
        .where(
            OutboxEvent.created_at < cutoff,
            OutboxEvent.fanned_out == true(),
            ~undelivered,
            ~recent,
        )
        .execution_options(synchronize_session=False),
    )
    await session.execute(
        delete(InboxEntry)
        .where(InboxEntry.received_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return pruned
