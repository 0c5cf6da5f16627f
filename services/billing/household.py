"""Who of a room's household billing deals with, from the identity replica."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import rules
from services.common.identity_replica import ReplicaBinding


async def payers_by_room(session: AsyncSession, community_id: str, room_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
    """room_id -> the accounts that see and pay its bills (verified owners), sorted."""
    stmt = select(ReplicaBinding.room_id, ReplicaBinding.account_id).where(
        ReplicaBinding.community_id == community_id,
        ReplicaBinding.active.is_(True),
        ReplicaBinding.relation.in_(rules.PAYER_RELATIONS),
    )
    if room_ids is not None:
        stmt = stmt.where(ReplicaBinding.room_id.in_(list(set(room_ids))))
    out: dict[str, list[str]] = {}
    for room_id, account_id in (await session.execute(stmt)).all():
        out.setdefault(room_id, []).append(account_id)
    return {k: sorted(set(v)) for k, v in out.items()}


async def payers_of(session: AsyncSession, community_id: str, room_ids: Iterable[str]) -> list[str]:
    rooms = await payers_by_room(session, community_id, room_ids)
    return sorted({a for accounts in rooms.values() for a in accounts})
