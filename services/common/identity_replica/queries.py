"""Who-is-where questions answered from the replica, for authorization and scoping (a
service's own audience targeting lives in that service, e.g. services/notices/audience.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.identity_replica.models import ReplicaBinding, ReplicaRoom, ReplicaStaff

ALL_RELATIONS = ("owner", "family", "tenant")


async def active_bindings_of(
    session: AsyncSession,
    account_id: str,
    community_id: str | None = None,
    relations: Sequence[str] = ALL_RELATIONS,
) -> list[ReplicaBinding]:
    """The account's verified, unrevoked bindings (optionally in one community)."""
    stmt = select(ReplicaBinding).where(
        ReplicaBinding.account_id == account_id,
        ReplicaBinding.active.is_(True),
        ReplicaBinding.relation.in_(relations),
    )
    if community_id is not None:
        stmt = stmt.where(ReplicaBinding.community_id == community_id)
    return list((await session.scalars(stmt.order_by(ReplicaBinding.binding_id))).all())


async def verified_room_ids(
    session: AsyncSession,
    account_id: str,
    community_id: str | None = None,
    relations: Sequence[str] = ALL_RELATIONS,
) -> set[str]:
    return {b.room_id for b in await active_bindings_of(session, account_id, community_id, relations)}


async def bound_since(
    session: AsyncSession,
    account_id: str,
    community_id: str | None = None,
    room_ids: Sequence[str] | None = None,
) -> dict[str, datetime]:
    """room_id -> when the account's verified, unrevoked binding on it was verified (the
    earliest, if it has several)."""
    stmt = select(
        ReplicaBinding.room_id,
        func.min(func.coalesce(ReplicaBinding.verified_at, ReplicaBinding.updated_at)),
    ).where(ReplicaBinding.account_id == account_id, ReplicaBinding.active.is_(True))
    if community_id is not None:
        stmt = stmt.where(ReplicaBinding.community_id == community_id)
    if room_ids is not None:
        stmt = stmt.where(ReplicaBinding.room_id.in_(list(room_ids)))
    rows = (await session.execute(stmt.group_by(ReplicaBinding.room_id))).all()
    return {room_id: since for room_id, since in rows}


async def is_verified_on(
    session: AsyncSession, account_id: str, room_id: str, relations: Sequence[str] = ALL_RELATIONS
) -> bool:
    stmt = select(ReplicaBinding.binding_id).where(
        ReplicaBinding.account_id == account_id,
        ReplicaBinding.room_id == room_id,
        ReplicaBinding.active.is_(True),
        ReplicaBinding.relation.in_(relations),
    )
    return (await session.scalar(stmt.limit(1))) is not None


async def household_account_ids(session: AsyncSession, room_ids: Iterable[str]) -> set[str]:
    """Every account with a verified binding on any of the rooms."""
    ids = list(room_ids)
    if not ids:
        return set()
    stmt = select(ReplicaBinding.account_id).where(
        ReplicaBinding.room_id.in_(ids), ReplicaBinding.active.is_(True)
    )
    return set((await session.scalars(stmt)).all())


async def rooms_in_scope(
    session: AsyncSession, community_id: str, building_ids: Sequence[str] | None = None
) -> list[ReplicaRoom]:
    """Rooms of the community, or of the listed buildings only."""
    stmt = select(ReplicaRoom).where(ReplicaRoom.community_id == community_id)
    if building_ids is not None:
        stmt = stmt.where(ReplicaRoom.building_id.in_(list(building_ids)))
    return list((await session.scalars(stmt.order_by(ReplicaRoom.room_id))).all())


async def display_names(session: AsyncSession, community_id: str, account_ids: Iterable[str]) -> dict[str, str]:
    """account_id -> its `1栋101李明` name in the community, for many accounts in one query."""
    ids = list(set(account_ids))
    if not ids:
        return {}
    stmt = (
        select(ReplicaBinding.account_id, ReplicaBinding.display_name)
        .where(
            ReplicaBinding.community_id == community_id,
            ReplicaBinding.account_id.in_(ids),
            ReplicaBinding.display_name != "",
        )
        .order_by(ReplicaBinding.active.desc(), ReplicaBinding.binding_id)
    )
    names: dict[str, str] = {}
    for account_id, name in (await session.execute(stmt)).all():
        names.setdefault(account_id, name)
    return names

async def known_building_ids(session: AsyncSession, community_id: str) -> set[str]:
    stmt = select(ReplicaRoom.building_id).where(ReplicaRoom.community_id == community_id).distinct()
    return set((await session.scalars(stmt)).all())


async def room(session: AsyncSession, room_id: str) -> ReplicaRoom | None:
    return await session.get(ReplicaRoom, room_id)


async def staff_member(session: AsyncSession, community_id: str, account_id: str) -> ReplicaStaff | None:
    row = await session.get(ReplicaStaff, (community_id, account_id))
    return row if row is not None and row.active else None


async def staff_community_ids(
    session: AsyncSession, account_id: str, roles: Sequence[str] | None = None
) -> set[str]:
    """The communities the account is active staff of (optionally in one of `roles`)."""
    stmt = select(ReplicaStaff.community_id).where(
        ReplicaStaff.account_id == account_id, ReplicaStaff.active.is_(True)
    )
    if roles is not None:
        stmt = stmt.where(ReplicaStaff.role.in_(list(roles)))
    return set((await session.scalars(stmt)).all())


async def display_name(session: AsyncSession, account_id: str, community_id: str) -> str | None:
    """The `1栋101李明` name of the account in that community (its first verified binding)."""
    bindings = await active_bindings_of(session, account_id, community_id)
    for b in bindings:
        if b.display_name:
            return b.display_name
    staff = await staff_member(session, community_id, account_id)
    return staff.name if staff else None
