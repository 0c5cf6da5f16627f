"""The personal inbox: its pages newest first, the unread count, marking an entry read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.pagination import keyset_page, newest_first
from services.notices.errors import InboxEntryNotFound
from services.notices.models import InboxEntry


async def inbox_page(
    session: AsyncSession, account_id: str, limit: int, cursor: str | None
) -> tuple[list[InboxEntry], str | None]:
    stmt = select(InboxEntry).where(InboxEntry.account_id == account_id)
    return await keyset_page(session, stmt, newest_first(InboxEntry), limit, cursor)


async def unread_count(session: AsyncSession, account_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(InboxEntry)
            .where(InboxEntry.account_id == account_id, InboxEntry.read_at.is_(None))
        )
        or 0
    )


async def mark_read(
    session: AsyncSession, account_id: str, entry_id: str, now: datetime
) -> InboxEntry:
    """The caller's entry, read; someone else's does not exist for them."""
    entry = await session.get(InboxEntry, entry_id)
    if entry is None or entry.account_id != account_id:
        raise InboxEntryNotFound()
    if entry.read_at is None:
        entry.read_at = now
        await session.flush()
    return entry
