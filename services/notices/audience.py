"""Who a notice reaches, asked of the identity replica: the accounts and households in an
audience's scope, a member's rooms, and the buildings and units a draft may name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.identity_replica.models import ReplicaBinding, ReplicaRoom
from services.common.identity_replica.queries import ALL_RELATIONS

Units = Sequence[tuple[str, str | None]]
Membership = tuple[ReplicaBinding, ReplicaRoom]


def _in_scope(
    stmt: Select[Any],
    community_id: str,
    building_ids: Sequence[str] | None,
    units: Units | None,
    relations: Sequence[str],
) -> Select[Any]:
    """Restricts a statement joining bindings to rooms to active bindings in the scope."""
    stmt = stmt.where(
        ReplicaRoom.community_id == community_id,
        ReplicaBinding.active.is_(True),
        ReplicaBinding.relation.in_(list(relations)),
    )
    if building_ids is not None:
        stmt = stmt.where(ReplicaRoom.building_id.in_(list(building_ids)))
    if units is not None:
        if not units:
            return stmt.where(false())
        stmt = stmt.where(
            or_(
                *(
                    and_(
                        ReplicaRoom.building_id == b,
                        ReplicaRoom.unit.is_(None) if u is None else ReplicaRoom.unit == u,
                    )
                    for b, u in units
                )
            )
        )
    return stmt


async def known_units(session: AsyncSession, community_id: str) -> set[tuple[str, str | None]]:
    """(building_id, unit) pairs of the community's rooms."""
    stmt = (
        select(ReplicaRoom.building_id, ReplicaRoom.unit)
        .where(ReplicaRoom.community_id == community_id)
        .distinct()
    )
    return {(b, u) for b, u in (await session.execute(stmt)).all()}


async def account_ids_in_scope(
    session: AsyncSession,
    community_id: str,
    *,
    building_ids: Sequence[str] | None = None,
    units: Units | None = None,
    relations: Sequence[str] = ALL_RELATIONS,
    after: str | None = None,
    limit: int | None = None,
) -> list[str]:
    """Accounts with a verified binding on a room in scope, ordered by id (`after` pages)."""
    stmt = select(ReplicaBinding.account_id).join(
        ReplicaRoom, ReplicaRoom.room_id == ReplicaBinding.room_id
    )
    stmt = _in_scope(stmt, community_id, building_ids, units, relations)
    if after is not None:
        stmt = stmt.where(ReplicaBinding.account_id > after)
    stmt = stmt.distinct().order_by(ReplicaBinding.account_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.scalars(stmt)).all())


async def bound_rooms_in_scope(
    session: AsyncSession,
    community_id: str,
    *,
    building_ids: Sequence[str] | None = None,
    units: Units | None = None,
    relations: Sequence[str] = ALL_RELATIONS,
) -> list[ReplicaRoom]:
    """Rooms in scope with at least one verified binding of the relations (households)."""
    has_member = _in_scope(
        select(ReplicaBinding.binding_id).where(ReplicaBinding.room_id == ReplicaRoom.room_id),
        community_id,
        building_ids,
        units,
        relations,
    )
    stmt = select(ReplicaRoom).where(has_member.exists()).order_by(ReplicaRoom.room_id)
    return list((await session.scalars(stmt)).all())


async def bindings_with_rooms(
    session: AsyncSession, account_id: str, community_id: str
) -> list[Membership]:
    """The account's active bindings in a community, each with its room."""
    stmt = (
        select(ReplicaBinding, ReplicaRoom)
        .join(ReplicaRoom, ReplicaRoom.room_id == ReplicaBinding.room_id)
        .where(
            ReplicaBinding.account_id == account_id,
            ReplicaBinding.community_id == community_id,
            ReplicaBinding.active.is_(True),
        )
        .order_by(ReplicaBinding.binding_id)
    )
    return [(b, r) for b, r in (await session.execute(stmt)).all()]


async def account_ids_of_rooms(
    session: AsyncSession, room_ids: Sequence[str], relations: Sequence[str] = ALL_RELATIONS
) -> list[str]:
    """Accounts with an active verified binding of the relations on any of the rooms."""
    if not room_ids:
        return []
    stmt = (
        select(ReplicaBinding.account_id)
        .where(
            ReplicaBinding.room_id.in_(list(room_ids)),
            ReplicaBinding.active.is_(True),
            ReplicaBinding.relation.in_(list(relations)),
        )
        .distinct()
        .order_by(ReplicaBinding.account_id)
    )
    return list((await session.scalars(stmt)).all())
