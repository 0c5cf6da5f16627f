"""Identity's facts for a consumer that starts empty (backfill): communities, rooms, verified
bindings and active staff, each page's items exactly the payloads of the matching events,
ordered by id so that the cursor is stable while rows change.

Every function is `(session, cursor, limit, *, community_id=None) -> (payloads, next_cursor)`;
`STREAMS` names each with its event type and the payload field that is its ordering key, for
the events machinery's snapshot endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events.backfill import SnapshotItem, Snapshots
from services.common.events.backfill import SnapshotPage as EventsSnapshotPage
from services.common.pagination import Keyset, keyset_page
from services.identity.events import binding_verified_payload, room_payload, staff_payload
from services.identity.models import Account, Binding, Building, Community, Room, Staff

SnapshotPage = tuple[list[dict[str, Any]], str | None]


def _by_id(id_column: Any) -> Keyset:
    """Ascending ids: a row changing or appearing behind the cursor never shifts the pages."""
    return Keyset((id_column,), ("str",), descending=False)


def _first_id(row: Any) -> list[str]:
    """The sort key of a joined row: the id of its first entity."""
    return [row[0].id]


async def communities(
    session: AsyncSession, cursor: str | None = None, limit: int = 500, *, community_id: str | None = None
) -> SnapshotPage:
    """Payloads of `identity.community.created`, one per community."""
    query = select(Community)
    if community_id:
        query = query.where(Community.id == community_id)
    rows, next_cursor = await keyset_page(session, query, _by_id(Community.id), limit, cursor)
    return [{"community_id": c.id, "name": c.name} for c in rows], next_cursor


async def rooms(
    session: AsyncSession, cursor: str | None = None, limit: int = 500, *, community_id: str | None = None
) -> SnapshotPage:
    """Payloads of `identity.room.upserted`, one per room."""
    query = select(Room, Building).join(Building, Building.id == Room.building_id)
    if community_id:
        query = query.where(Room.community_id == community_id)
    rows, next_cursor = await keyset_page(
        session, query, _by_id(Room.id), limit, cursor, key=_first_id
    )
    return [room_payload(r, b) for r, b in rows], next_cursor


async def verified_bindings(
    session: AsyncSession, cursor: str | None = None, limit: int = 500, *, community_id: str | None = None
) -> SnapshotPage:
    """Payloads of `identity.binding.verified` for every binding verified now."""
    query = (
        select(Binding, Room, Building, Account.openid)
        .join(Room, Room.id == Binding.room_id)
        .join(Account, Account.id == Binding.account_id)
        .join(Building, Building.id == Room.building_id)
        .where(Binding.status == "verified")
    )
    if community_id:
        query = query.where(Binding.community_id == community_id)
    rows, next_cursor = await keyset_page(
        session, query, _by_id(Binding.id), limit, cursor, key=_first_id
    )
    return [binding_verified_payload(b, r, bd, oid) for b, r, bd, oid in rows], next_cursor


async def staff(
    session: AsyncSession, cursor: str | None = None, limit: int = 500, *, community_id: str | None = None
) -> SnapshotPage:
    """Payloads of `identity.staff.upserted` for every staff member who has not left."""
    query = (
        select(Staff, Account.openid)
        .join(Account, Account.id == Staff.account_id)
        .where(Staff.left_at.is_(None))
    )
    if community_id:
        query = query.where(Staff.community_id == community_id)
    rows, next_cursor = await keyset_page(
        session, query, _by_id(Staff.id), limit, cursor, key=_first_id
    )
    return [staff_payload(s, oid) for s, oid in rows], next_cursor


# stream name -> (function, event type, payload field that is the event's ordering key)
STREAMS: dict[str, tuple[Any, str, str]] = {
    "communities": (communities, "identity.community.created", "community_id"),
    "rooms": (rooms, "identity.room.upserted", "room_id"),
    "bindings": (verified_bindings, "identity.binding.verified", "binding_id"),
    "staff": (staff, "identity.staff.upserted", "account_id"),
}


def identity_snapshots() -> Snapshots:
    """The streams consumers backfill their identity replica from (GET /internal/snapshot/...)."""
    registry = Snapshots()
    for name, (fn, event_type, key_field) in STREAMS.items():
        registry.stream(name)(_as_snapshot_fn(fn, event_type, key_field))
    return registry


def _as_snapshot_fn(fn: Any, event_type: str, key_field: str) -> Any:
    async def page(session: AsyncSession, cursor: str | None, limit: int) -> EventsSnapshotPage:
        payloads, next_cursor = await fn(session, cursor, limit)
        items = [SnapshotItem(type=event_type, payload=p, ordering_key=str(p[key_field])) for p in payloads]
        return EventsSnapshotPage(items=items, next_cursor=next_cursor)

    return page
