"""The rooms a vote's electorate is drawn from, read from the identity replica in one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.identity_replica.models import ReplicaRoom


class RoomSnapshot(NamedTuple):
    """A room in scope as the electorate snapshot copies it. The area is text so that no
    float sits between the database and a Decimal (SQLite keeps NUMERIC values as REAL)."""

    room_id: str
    building_id: str
    label: str
    area: str
    state: str
    owner_key: str | None


async def room_snapshots(
    session: AsyncSession, community_id: str, building_ids: Sequence[str] | None = None
) -> list[RoomSnapshot]:
    """The rooms of the community (or of the listed buildings only), by room id."""
    stmt = select(
        ReplicaRoom.room_id,
        ReplicaRoom.building_id,
        ReplicaRoom.label,
        # CAST(area AS VARCHAR): the label column's string type serves as the target.
        ReplicaRoom.area.cast(ReplicaRoom.label.type),
        ReplicaRoom.state,
        ReplicaRoom.owner_key,
    ).where(ReplicaRoom.community_id == community_id)
    if building_ids is not None:
        stmt = stmt.where(ReplicaRoom.building_id.in_(list(building_ids)))
    rows = await session.execute(stmt.order_by(ReplicaRoom.room_id))
    return [RoomSnapshot(*row) for row in rows.all()]
