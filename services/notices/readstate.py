"""Read state kept in step between a notice and its inbox entry: reading the entry records
the notice's read (for the receipts) as opening the notice marks the entry read
(feed.open_notice); marking the whole inbox read; unread counts per kind."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notices import rules
from services.notices.audience import Membership, bindings_with_rooms
from services.notices.feed import record_read
from services.notices.inbox import mark_read
from services.notices.models import InboxEntry, Notice


async def _record_notice_reads(
    session: AsyncSession, account_id: str, source_keys: list[str], now: datetime
) -> None:
    """The notices these entries announce, read by the caller where they still target them
    (a withdrawn or expired notice has no receipts to keep in step)."""
    ids = sorted({n for k in source_keys if (n := rules.notice_id_of(k)) is not None})
    if not ids:
        return
    notices = (await session.scalars(select(Notice).where(Notice.id.in_(ids)))).all()
    memberships: dict[str, list[Membership]] = {}
    for notice in notices:
        cid = notice.community_id
        if cid not in memberships:
            memberships[cid] = list(await bindings_with_rooms(session, account_id, cid))
        await record_read(session, account_id, notice, now, memberships[cid])


async def read_entry(
    session: AsyncSession, account_id: str, entry_id: str, now: datetime
) -> InboxEntry:
    """The caller's entry, read; a notice's entry also records the notice's read."""
    entry = await mark_read(session, account_id, entry_id, now)
    await _record_notice_reads(session, account_id, [entry.source_key], now)
    return entry


async def read_all(
    session: AsyncSession, account_id: str, now: datetime, kind: str | None = None
) -> int:
    """Every unread entry of the caller (of one kind, when given) read, and the notices they
    announce with them. Returns how many entries it marked. Safe to repeat."""
    where = [InboxEntry.account_id == account_id, InboxEntry.read_at.is_(None)]
    if kind is not None:
        where.append(InboxEntry.kind == kind)
    result = await session.execute(
        update(InboxEntry)
        .where(*where)
        .values(read_at=now)
        .returning(InboxEntry.source_key)
        .execution_options(synchronize_session=False)
    )
    keys = list(result.scalars().all())
    await _record_notice_reads(session, account_id, keys, now)
    return len(keys)


async def unread_by_kind(session: AsyncSession, account_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(InboxEntry.kind, func.count())
        .where(InboxEntry.account_id == account_id, InboxEntry.read_at.is_(None))
        .group_by(InboxEntry.kind)
    )
    counts: dict[str, int] = defaultdict(int)
    for kind, n in rows.all():
        counts[kind] += int(n)
    return dict(sorted(counts.items()))
