"""Fan-out and per-key release: delivery rows for new outbox events, one pending head per key.

Per subscriber, the first undelivered event of an ordering key is `pending`; later ones of
that key are `held` and released one by one (`release_next`) as their predecessor is
delivered or dead. On PostgreSQL fan-out takes an advisory lock exclusively and the releases
take it shared, so a release never misses a held row being inserted concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, false, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.common.db import dialect_name
from services.common.events.config import Subscription
from services.common.events.models import HELD, PENDING, Delivery, OutboxEvent

FANOUT_LOCK_KEY = 724_310_001  # pg advisory lock id of the fan-out step

_d = Delivery.__table__.alias("d")
_p = Delivery.__table__.alias("p")
# The next held delivery of a (subscriber, key) becomes pending, unless one is pending already
# (e.g. a lease taken over by another dispatcher still owns the key's head).
_RELEASE_NEXT = (
    update(Delivery.__table__)
    .where(
        Delivery.__table__.c.id
        == select(_d.c.id)
        .where(
            _d.c.subscriber == bindparam("b_sub"),
            _d.c.ordering_key == bindparam("b_key"),
            _d.c.status == HELD,
        )
        .order_by(_d.c.event_seq)
        .limit(1)
        .scalar_subquery(),
        ~exists().where(
            _p.c.subscriber == bindparam("b_sub"),
            _p.c.ordering_key == bindparam("b_key"),
            _p.c.status == PENDING,
        ),
    )
    .values(status=PENDING, next_attempt_at=bindparam("b_now"))
)


async def fan_out(
    session: AsyncSession,
    subscriptions: Iterable[Subscription],
    clock: Callable[[], datetime],
    limit: int,
) -> int:
    """Creates the delivery rows of events not fanned out yet, in the caller's transaction;
    returns how many events (0 when another fan-out holds the lock)."""
    if dialect_name(session) == "postgresql":
        # Exclusive against other fan-outs and against `record` (which takes it shared),
        # so a release never misses a held row being inserted concurrently.
        got = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FANOUT_LOCK_KEY}
        )
        if not got:
            return 0
    rows = (
        await session.execute(
            select(OutboxEvent.seq, OutboxEvent.id, OutboxEvent.type, OutboxEvent.ordering_key)
            .where(OutboxEvent.fanned_out == false())
            .order_by(OutboxEvent.seq)
            .limit(limit)
        )
    ).all()
    if not rows:
        return 0
    now = clock()
    keys = sorted({r.ordering_key for r in rows if r.ordering_key is not None})
    values: list[dict[str, Any]] = []
    for sub in subscriptions:
        matching = [r for r in rows if sub.matches(r.type)]
        if not matching:
            continue
        busy: set[str | None] = set()
        if keys:
            busy = set(
                (
                    await session.scalars(
                        select(Delivery.ordering_key)
                        .where(
                            Delivery.subscriber == sub.name,
                            Delivery.status.in_([PENDING, HELD]),
                            Delivery.ordering_key.in_(keys),
                        )
                        .distinct()
                    )
                ).all()
            )
        for r in matching:
            held = r.ordering_key is not None and r.ordering_key in busy
            if r.ordering_key is not None:
                busy.add(r.ordering_key)
            values.append(
                {
                    "event_id": r.id,
                    "event_seq": r.seq,
                    "event_type": r.type,
                    "subscriber": sub.name,
                    "ordering_key": r.ordering_key,
                    "status": HELD if held else PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if values:
        await session.execute(insert(Delivery), values)
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.seq.in_([r.seq for r in rows]))
        .values(fanned_out=True)
    )
    return len(rows)


async def lock_against_fan_out(conn: AsyncConnection) -> None:
    """Takes the fan-out lock shared (PostgreSQL) for a transaction that releases held rows."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": FANOUT_LOCK_KEY})


async def release_next(
    conn: AsyncConnection, keys: Sequence[tuple[str, str | None]], now: datetime
) -> None:
    """Makes the earliest held delivery of each (subscriber, key) pending, unless the key
    already has a pending head. Call after `lock_against_fan_out` in the same transaction."""
    await conn.execute(
        _RELEASE_NEXT, [{"b_sub": sub, "b_key": key, "b_now": now} for sub, key in keys]
    )
