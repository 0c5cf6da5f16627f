"""Reading notices: the owner's feed, opening a notice (the read is recorded once per account
and household), and the manager's list of every notice of a community."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import insert_ignoring_duplicates
from services.common.pagination import keyset_page, newest_first, page_sorted, parse_cursor
from services.notices import rules
from services.notices.audience import Membership, bindings_with_rooms
from services.notices.errors import NoticeNotFound
from services.notices.models import InboxEntry, Notice, NoticeRead


def targeted_rooms(notice: Notice, memberships: Sequence[Membership]) -> list[str]:
    return rules.unique(
        room.room_id
        for binding, room in memberships
        if rules.targets(
            notice.audience, building_id=room.building_id, unit=room.unit, relation=binding.relation
        )
    )


def is_visible(notice: Notice, now: datetime) -> bool:
    return notice.status == "published" and not rules.is_expired(notice.expires_at, now)


async def feed(
    session: AsyncSession,
    account_id: str,
    community_id: str,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Notice, bool]], str | None]:
    """Published notices that target one of the caller's verified rooms, pinned and
    emergency first, then newest; each with whether the caller has read it. The order is
    computed here, not in SQL (a feed is a community's live notices), so it pages in memory."""
    after = parse_cursor(cursor, ("int", "float", "str"))
    memberships = await bindings_with_rooms(session, account_id, community_id)
    if not memberships:
        return [], None
    candidates = (
        await session.scalars(
            select(Notice).where(Notice.community_id == community_id, Notice.status == "published")
        )
    ).all()
    visible = [n for n in candidates if is_visible(n, now) and targeted_rooms(n, memberships)]
    keyed = sorted(
        (
            (rules.feed_key(n.pinned, n.category, n.published_at or n.created_at, n.id), n)
            for n in visible
        ),
        key=lambda kn: kn[0],
    )
    page, next_cursor = page_sorted(keyed, lambda kn: kn[0], after, limit)
    ids = [n.id for _, n in page]
    read = (
        set(
            (
                await session.scalars(
                    select(NoticeRead.notice_id).where(
                        NoticeRead.account_id == account_id, NoticeRead.notice_id.in_(ids)
                    )
                )
            ).all()
        )
        if ids
        else set()
    )
    return [(n, n.id in read) for _, n in page], next_cursor


async def manager_list(
    session: AsyncSession, community_id: str, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Notice], str | None]:
    """Every notice of the community for the console, newest first."""
    stmt = select(Notice).where(Notice.community_id == community_id)
    if status:
        stmt = stmt.where(Notice.status == status)
    return await keyset_page(session, stmt, newest_first(Notice), limit, cursor)


async def open_notice(
    session: AsyncSession, account_id: str, notice_id: str, now: datetime
) -> Notice:
    """The notice, if it targets the caller; records the read once per account and household,
    and marks its inbox entry read (the two read states stay in step)."""
    notice = await session.get(Notice, notice_id)
    if notice is None or not await record_read(session, account_id, notice, now):
        raise NoticeNotFound()
    await mark_entries_read(session, account_id, [rules.notice_source_key(notice.id)], now)
    return notice


async def mark_entries_read(
    session: AsyncSession, account_id: str, source_keys: Sequence[str], now: datetime
) -> None:
    """The caller's unread inbox entries of these causes (and of their re-pushes), read."""
    if source_keys:
        await session.execute(
            update(InboxEntry)
            .where(
                InboxEntry.account_id == account_id,
                or_(
                    InboxEntry.source_key.in_(list(source_keys)),
                    *(InboxEntry.source_key.like(f"{k}:resend:%") for k in source_keys),
                ),
                InboxEntry.read_at.is_(None),
            )
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )


async def visible_to(session: AsyncSession, account_id: str, notice: Notice, now: datetime) -> bool:
    """Whether the notice is live and targets one of the caller's verified rooms."""
    if not is_visible(notice, now):
        return False
    memberships = await bindings_with_rooms(session, account_id, notice.community_id)
    return bool(targeted_rooms(notice, memberships))


async def record_read(
    session: AsyncSession,
    account_id: str,
    notice: Notice,
    now: datetime,
    memberships: Sequence[Membership] | None = None,
) -> bool:
    """Records the caller's read of a visible notice for each of their targeted households;
    False (nothing recorded) when the notice is not visible or does not target them."""
    if not is_visible(notice, now):
        return False
    if memberships is None:
        memberships = await bindings_with_rooms(session, account_id, notice.community_id)
    rooms = targeted_rooms(notice, memberships)
    if not rooms:
        return False
    await insert_ignoring_duplicates(
        session,
        NoticeRead,
        [
            {
                "notice_id": notice.id,
                "account_id": account_id,
                "room_id": r,
                "community_id": notice.community_id,
                "read_at": now,
            }
            for r in rooms
        ],
    )
    return True
