"""The clean-up report (the seed's 定期清理): what a manager should tidy in a community."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.identity import rules
from services.identity.models import Binding, Building, Room, Staff

REPORT_LIMIT = 1000


class CleanupItem(TypedDict):
    binding_id: str
    account_id: str
    room_id: str
    room_label: str
    relation: str
    name: str
    phone: str | None
    status: str
    created_at: datetime


class CleanupAccount(TypedDict):
    account_id: str
    name: str
    requests: int


class CleanupStaff(TypedDict):
    staff_id: str
    account_id: str
    name: str
    role: str
    left_at: datetime | None


class CleanupReportView(TypedDict):
    community_id: str
    pending_stale_days: int
    unmatched_bindings: list[CleanupItem]
    stale_pending: list[CleanupItem]
    accounts_without_verified_binding: list[CleanupAccount]
    staff_left: list[CleanupStaff]


async def cleanup_report(
    session: AsyncSession, cid: str, pending_stale_days: int
) -> CleanupReportView:
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
        return {
            "binding_id": b.id,
            "account_id": b.account_id,
            "room_id": room.id,
            "room_label": rules.room_label(building.name, room.unit, room.room_no),
            "relation": b.relation,
            "name": b.name,
            "phone": b.phone,
            "status": b.status,
            "created_at": b.created_at,
        }

    cutoff = utcnow() - timedelta(days=pending_stale_days)
    unmatched = [
        item(b, r, bd)
        for b, r, bd in rows
        if b.status == "verified"
        and b.relation == "owner"
        and not rules.matches_roster(r.owners or [], b.name, b.phone or "")
    ]
    stale_pending = [item(b, r, bd) for b, r, bd in rows if b.status == "pending" and b.created_at < cutoff]
    verified_accounts = {b.account_id for b, _, _ in rows if b.status == "verified"}
    unverified: dict[str, CleanupAccount] = {}
    for b, _, _ in rows:
        if b.account_id not in verified_accounts:
            entry = unverified.setdefault(
                b.account_id, {"account_id": b.account_id, "name": b.name, "requests": 0}
            )
            entry["requests"] += 1
    left = (
        await session.scalars(
            select(Staff).where(Staff.community_id == cid, Staff.left_at.is_not(None)).order_by(Staff.left_at)
        )
    ).all()
    return {
        "community_id": cid,
        "pending_stale_days": pending_stale_days,
        "unmatched_bindings": unmatched[:REPORT_LIMIT],
        "stale_pending": stale_pending[:REPORT_LIMIT],
        "accounts_without_verified_binding": list(unverified.values())[:REPORT_LIMIT],
        "staff_left": [
            {
                "staff_id": s.id,
                "account_id": s.account_id,
                "name": s.name,
                "role": s.role,
                "left_at": s.left_at,
            }
            for s in left[:REPORT_LIMIT]
        ],
    }
