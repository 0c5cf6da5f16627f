"""Identity use cases for places: communities, the room-picker tree and the roster import.
Load, apply rules, write, add outbox events. Flush, never commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import end_reads, new_id, utcnow
from services.common.pagination import Keyset, keyset_page
from services.identity import events, roster_format, rules
from services.identity.bindings import revoke_binding
from services.identity.errors import BuildingNotFound, CommunityNotFound, RosterInvalid
from services.identity.models import Account, Binding, Building, Community, Room

_ROOMS = cast(Table, Room.__table__)
_BUILDINGS = cast(Table, Building.__table__)
# Communities to choose from are listed by id: stable while new ones are created.
_BY_ID = Keyset((Community.id,), ("str",), descending=False)


async def create_community(session: AsyncSession, name: str, city: str | None = None) -> Community:
    cid = new_id()
    community = Community(
        id=cid, community_id=cid, name=name.strip(), city=city.strip() if city else None
    )
    session.add(community)
    await session.flush()
    events.community_created(session, community)
    return community


async def get_community(session: AsyncSession, cid: str) -> Community:
    community = await session.get(Community, cid)
    if community is None:
        raise CommunityNotFound()
    return community


async def list_communities(
    session: AsyncSession, cursor: str | None, limit: int, query: str | None = None
) -> tuple[list[Community], str | None]:
    """One page of the communities (names and cities only are shown), in id order; with
    `query`, those whose name or city contains it."""
    stmt = select(Community)
    q = (query or "").strip()
    if q:
        pattern = rules.like_pattern(q)
        stmt = stmt.where(
            or_(
                Community.name.ilike(pattern, escape="\\"),
                Community.city.ilike(pattern, escape="\\"),
            )
        )
    return await keyset_page(session, stmt, _BY_ID, limit, cursor)


# ---------------------------------------------------------------- the room picker

class RoomView(TypedDict):
    id: str
    room_no: str
    label: str
    area: str
    state: str


class UnitView(TypedDict):
    unit: str | None
    rooms: list[RoomView]


class BuildingView(TypedDict):
    id: str
    name: str
    room_count: int
    units: list[UnitView]


class RoomPicker(TypedDict):
    community_id: str
    buildings: list[BuildingView]


def _units(building_name: str, rooms: Sequence[Any]) -> list[UnitView]:
    by_unit: dict[str, list[Any]] = {}
    for r in rooms:
        by_unit.setdefault(r.unit, []).append(r)
    return [
        {
            "unit": unit or None,
            "rooms": [
                {
                    "id": r.id,
                    "room_no": r.room_no,
                    "label": rules.room_label(building_name, r.unit, r.room_no),
                    "area": f"{r.area:.2f}",
                    "state": r.state,
                }
                for r in sorted(unit_rooms, key=lambda r: rules.natural_key(r.room_no))
            ],
        }
        for unit, unit_rooms in sorted(by_unit.items(), key=lambda kv: rules.natural_key(kv[0]))
    ]


_PICKER_COLUMNS = (Room.id, Room.building_id, Room.unit, Room.room_no, Room.area, Room.state)


async def building_tree(session: AsyncSession, cid: str, *, with_rooms: bool = True) -> RoomPicker:
    """Buildings → units → rooms in one answer, sorted as people count (2栋 before 10栋);
    with `with_rooms=False` the buildings only, each with its room count (the picker then
    loads one building at a time, `one_building`)."""
    await get_community(session, cid)
    buildings = (
        await session.execute(select(Building.id, Building.name).where(Building.community_id == cid))
    ).all()
    rooms_of: dict[str, list[Any]] = {b.id: [] for b in buildings}
    counts: dict[str, int] = {}
    if with_rooms:
        rooms = (await session.execute(select(*_PICKER_COLUMNS).where(Room.community_id == cid))).all()
        for r in rooms:
            rooms_of.setdefault(r.building_id, []).append(r)
        counts = {bid: len(rs) for bid, rs in rooms_of.items()}
    else:
        counted = await session.execute(
            select(Room.building_id, func.count())
            .where(Room.community_id == cid)
            .group_by(Room.building_id)
        )
        counts = {bid: int(n) for bid, n in counted.all()}
    tree: list[BuildingView] = [
        {
            "id": b.id,
            "name": b.name,
            "room_count": counts.get(b.id, 0),
            "units": _units(b.name, rooms_of[b.id]) if with_rooms else [],
        }
        for b in sorted(buildings, key=lambda b: rules.natural_key(b.name))
    ]
    return {"community_id": cid, "buildings": tree}


async def one_building(session: AsyncSession, cid: str, building_id: str) -> BuildingView:
    """One building of the community with its units and rooms (the picker's second step)."""
    await get_community(session, cid)
    building = await session.get(Building, building_id)
    if building is None or building.community_id != cid:
        raise BuildingNotFound()
    rooms = (
        await session.execute(select(*_PICKER_COLUMNS).where(Room.building_id == building_id))
    ).all()
    return {
        "id": building.id,
        "name": building.name,
        "room_count": len(rooms),
        "units": _units(building.name, rooms),
    }


# ---------------------------------------------------------------- roster import


@dataclass(slots=True)
class RoomRow:
    """A room as the import wrote it: a plain row (not frozen: thousands are made per import,
    and the ORM would cost more than the SQL)."""

    id: str
    community_id: str
    building_id: str
    unit: str
    room_no: str
    area: Decimal
    state: str
    owner_key: str | None
    owners: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


@dataclass
class ImportResult:
    rooms_created: int
    rooms_updated: int
    owners: int
    bindings_revoked: int
    bindings_verified: int


async def import_roster(session: AsyncSession, cid: str, data: bytes) -> ImportResult:
    """All or nothing: a file with any bad line raises and writes nothing. Set-based: a fixed
    handful of statements whatever the size of the file (no per-row round trips)."""
    # Off the event loop, and outside any transaction (the caller's checks only read; on
    # SQLite the write lock would be held meanwhile): a large or hostile file must stall no
    # other request, logins of other communities included.
    await end_reads(session)
    parsed = await asyncio.to_thread(roster_format.read_roster, data)
    if parsed.errors:
        raise RosterInvalid(parsed.errors)

    # Serialises concurrent imports of one community (PostgreSQL; SQLite's BEGIN IMMEDIATE
    # already does).
    community = (
        await session.execute(select(Community).where(Community.id == cid).with_for_update())
    ).scalar_one_or_none()
    if community is None:
        raise CommunityNotFound()

    now = utcnow()
    buildings = await _ensure_buildings(session, cid, {r.building for r in parsed.rooms}, now)

    rt = _ROOMS
    existing = {
        (row.building_id, row.unit, row.room_no): row
        for row in (await session.execute(select(rt).where(rt.c.community_id == cid))).all()
    }
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    owners_changed: list[dict[str, Any]] = []
    for room in parsed.rooms:
        building = buildings[room.building]
        owners = room.owners_json()
        old = existing.get((building.id, room.unit, room.room_no))
        values = {
            "area": room.area,
            "state": room.state,
            "owner_key": room.owner_key,
            "owners": owners,
            "updated_at": now,
        }
        if old is None:
            row = {
                "id": new_id(),
                "community_id": cid,
                "building_id": building.id,
                "unit": room.unit,
                "room_no": room.room_no,
                "created_at": now,
                **values,
            }
            created.append(row)
            changed_rows.append(row)
        elif (old.area, old.state, old.owner_key, old.owners) != (
            room.area, room.state, room.owner_key, owners
        ):
            updated.append({"b_id": old.id, **values})
            changed_rows.append({**old._asdict(), **values})
            if rules.owners_changed(old.owners or [], owners):
                owners_changed.append(changed_rows[-1])

    if created:
        await session.execute(insert(rt), created)
    if updated:
        await session.execute(
            update(rt)
            .where(rt.c.id == bindparam("b_id"))
            .values(
                area=bindparam("area"),
                state=bindparam("state"),
                owner_key=bindparam("owner_key"),
                owners=bindparam("owners"),
                updated_at=bindparam("updated_at"),
            ),
            updated,
        )
    by_id = {b.id: b for b in buildings.values()}
    await events.rooms_upserted(
        session, [(RoomRow(**row), by_id[row["building_id"]]) for row in changed_rows]
    )

    revoked, verified = await _reconcile_owner_bindings(session, owners_changed, by_id)
    await session.flush()
    return ImportResult(
        rooms_created=len(created),
        rooms_updated=len(updated),
        owners=parsed.owner_count,
        bindings_revoked=revoked,
        bindings_verified=verified,
    )


async def _ensure_buildings(
    session: AsyncSession, cid: str, names: set[str], now: datetime
) -> dict[str, Building]:
    known = {
        b.name: b
        for b in (await session.scalars(select(Building).where(Building.community_id == cid))).all()
    }
    missing: list[dict[str, Any]] = [
        {"id": new_id(), "community_id": cid, "name": name, "created_at": now}
        for name in sorted(names - known.keys())
    ]
    if missing:
        await session.execute(insert(_BUILDINGS), missing)
        for row in missing:
            known[row["name"]] = Building(**row)
    return known


async def _reconcile_owner_bindings(
    session: AsyncSession, changed: list[dict[str, Any]], buildings: dict[str, Building]
) -> tuple[int, int]:
    """On rooms whose owners changed: verified owner bindings that no longer match end (with
    the family and tenants hanging off them); pending owner requests that now match are
    verified, as they would have been had the roster said so when they were made."""
    if not changed:
        return 0, 0
    rooms_by_id = {row["id"]: RoomRow(**row) for row in changed}
    revoked = verified = 0
    room_ids = list(rooms_by_id)
    for start in range(0, len(room_ids), 500):
        bindings = (
            await session.scalars(
                select(Binding)
                .where(
                    Binding.room_id.in_(room_ids[start : start + 500]),
                    Binding.relation == "owner",
                    Binding.status.in_(("verified", "pending")),
                )
                .order_by(Binding.created_at, Binding.id)
            )
        ).all()
        # Only the phone WeChat verified can verify a pending claim (rules.owner_claim_verifies).
        phone_rows = await session.execute(
            select(Account.id, Account.phone).where(Account.id.in_({b.account_id for b in bindings}))
        )
        verified_phones = {account_id: phone for account_id, phone in phone_rows}
        for binding in bindings:
            room = rooms_by_id[binding.room_id]
            phone = verified_phones.get(binding.account_id)
            matches = rules.matches_roster(room.owners, binding.name, phone or binding.phone or "")
            if binding.status == "verified" and not matches:
                revoked += await revoke_binding(session, binding, "roster_changed")
            elif binding.status == "pending" and rules.owner_claim_verifies(
                "owner", room.owners, binding.name, phone
            ):
                binding.status = "verified"
                binding.decided_at = utcnow()
                verified += 1
                await events.binding_verified(session, binding, room, buildings[room.building_id])
    return revoked, verified
