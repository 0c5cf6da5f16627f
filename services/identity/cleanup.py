"""The clean-up report (the seed's 定期清理): what a manager should tidy in a community."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.identity import rules
from services.identity.models import Binding, Building, Room, Staff
from services.identity.schemas import CleanupAccount, CleanupItem, CleanupReport, CleanupStaff

REPORT_LIMIT = 1000


async def cleanup_report(
    session: AsyncSession, cid: str, pending_stale_days: int
) -> CleanupReport:
    """Verified owners the roster no longer lists, requests waiting too long, accounts with no
    verified room, and staff who left (each list at most `REPORT_LIMIT` long)."""
    rows = (
        await session.execute(
            select(Binding, Room, Building)
            .join(Room, Room.id == Binding.room_id)
            .join(Building, Building.id == Room.building_id)
            .where(Binding.community_id == cid, Binding.status.in_(rules.REPORTED_STATUSES))
            .order_by(Binding.created_at, Binding.id)
        )
    ).all()

    def item(b: Binding, room: Room, building: Building) -> CleanupItem:
        return CleanupItem(
            binding_id=b.id,
            account_id=b.account_id,
            room_id=room.id,
            room_label=rules.room_label(building.name, room.unit, room.room_no),
            relation=b.relation,
            name=b.name,
            phone=b.phone,
            status=b.status,
            created_at=b.created_at,
        )

    cutoff = utcnow() - timedelta(days=pending_stale_days)
    unmatched = [
        item(b, r, bd)
        for b, r, bd in rows
        if b.status == "verified"
        and b.relation == "owner"
        and not rules.matches_roster(r.owners or [], b.name, b.phone or "")
    ]
    stale_pending = [
        item(b, r, bd) for b, r, bd in rows if b.status == "pending" and b.created_at < cutoff
    ]
    verified_accounts = {b.account_id for b, _, _ in rows if b.status == "verified"}
    # Accounts with requests but nothing verified, named as in their first request.
    unverified: dict[str, CleanupAccount] = {}
    for b, _, _ in rows:
        if b.account_id not in verified_accounts:
            entry = unverified.setdefault(
                b.account_id, CleanupAccount(account_id=b.account_id, name=b.name, requests=0)
            )
            entry.requests += 1
    left = (
        await session.scalars(
            select(Staff)
            .where(Staff.community_id == cid, Staff.left_at.is_not(None))
            .order_by(Staff.left_at)
        )
    ).all()
    return CleanupReport(
        community_id=cid,
        pending_stale_days=pending_stale_days,
        unmatched_bindings=unmatched[:REPORT_LIMIT],
        stale_pending=stale_pending[:REPORT_LIMIT],
        accounts_without_verified_binding=list(unverified.values())[:REPORT_LIMIT],
        staff_left=[
            CleanupStaff(
                staff_id=s.id, account_id=s.account_id, name=s.name, role=s.role, left_at=s.left_at
            )
            for s in left[:REPORT_LIMIT]
            if s.left_at is not None  # always, by the query
        ],
    )
