"""Building names of a community, from the identity replica, for reports."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.identity_replica import ReplicaRoom


async def building_names(session: AsyncSession, community_id: str) -> dict[str, str]:
    stmt = (
        select(ReplicaRoom.building_id, ReplicaRoom.building_name)
        .where(ReplicaRoom.community_id == community_id)
        .distinct()
    )
    return {bid: name for bid, name in (await session.execute(stmt)).all()}
