"""An action allowed once per interval on one row (a reminder per vote, a resend per notice):
the row keeps when it last happened and how many times; taking the slot is a conditional
update on that stamp, so two callers at once get one slot, on either backend."""

from __future__ import annotations

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


async def take_slot(
    session: AsyncSession,
    model: Any,
    row: ColumnElement[bool],
    *,
    stamp: Any,
    counter: Any,
    last: datetime | None,
    now: datetime,
) -> bool:
    """Stamps the row (`stamp` = now, `counter` + 1) if `stamp` still holds `last`, the value
    the caller checked; False when another caller took the slot in between."""
    unchanged = stamp.is_(None) if last is None else stamp == last
    taken = await execute_dml(
        session,
        update(model)
        .where(row, unchanged)
        .values({stamp.key: now, counter.key: counter + 1})
        .execution_options(synchronize_session=False),
    )
    return taken == 1
