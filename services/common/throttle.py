"""An action allowed once per interval on one row (a reminder per vote, a resend per notice):
the row keeps when it last happened and how many times; taking the slot is a conditional
update on that stamp, so two callers at once get one slot, on either backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import execute_dml


def next_allowed_at(last: datetime | None, interval_hours: float) -> datetime | None:
    """When the action may happen again (None: now, it never happened)."""
    return None if last is None else last + timedelta(hours=interval_hours)


def allowed(last: datetime | None, now: datetime, interval_hours: float) -> bool:
    at = next_allowed_at(last, interval_hours)
    return at is None or now >= at


async def claim_slot(
    session: AsyncSession,
    model: Any,
    row: ColumnElement[bool],
    *,
    stamp: Any,
    counter: Any,
    last: datetime | None,
    now: datetime,
    interval_hours: float,
    too_soon: Callable[[datetime], Exception],
) -> None:
    """Takes the row's slot, or raises `too_soon(when it may happen again)`: before the
    interval since `last` has passed, or when another caller took the slot between the
    caller's read of `last` and this update."""
    if not allowed(last, now, interval_hours):
        raise too_soon(next_allowed_at(last, interval_hours) or now)
    # Stamps the row (`stamp` = now, `counter` + 1) only if `stamp` still holds `last`.
    unchanged = stamp.is_(None) if last is None else stamp == last
    taken = await execute_dml(
        session,
        update(model)
        .where(row, unchanged)
        .values({stamp.key: now, counter.key: counter + 1})
        .execution_options(synchronize_session=False),
    )
    if taken != 1:
        raise too_soon(now + timedelta(hours=interval_hours))
