"""The care list (关注特殊人群): managers flag households (elderly, living alone, disability)
with a note and a contact person; after an emergency the unread list puts them first; staff
may see the contact's full phone for a follow-up call, each time with a reason that is
recorded and listed for the managers. Elsewhere the phone is masked. A flag goes when its
room has no verified member left (binding revoked, account deleted)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events import EventHandlers, ReceivedEvent
from services.common.identity_replica.models import ReplicaBinding, ReplicaRoom, ReplicaStaff
from services.common.pagination import Keyset, keyset_page
from services.common.phones import mask_phone
from services.notices import journey_rules, rules
from services.notices.errors import CareHouseholdNotFound, CareRoomNotFound, RevealReasonRequired
from services.notices.journey_schemas import CareHouseholdOut, RevealRecordOut
from services.notices.models import CareHousehold, CareReveal

# The list by room label, then id; reveals newest first.
CARE_ORDER = Keyset((ReplicaRoom.label, CareHousehold.room_id), ("str", "str"), descending=False)
REVEAL_ORDER = Keyset((CareReveal.revealed_at, CareReveal.id), ("datetime", "str"))


def _entry(flag: CareHousehold, room: ReplicaRoom) -> CareHouseholdOut:
    """A household on the list as staff see it: the contact's phone masked."""
    return CareHouseholdOut(
        room_id=flag.room_id,
        label=room.label,
        building_name=room.building_name,
        categories=list(flag.categories),
        note=flag.note,
        contact_name=flag.contact_name,
        contact_phone_masked=mask_phone(flag.contact_phone),
    )


async def _household(session: AsyncSession, community_id: str, room_id: str) -> ReplicaRoom:
    """A room of the community with at least one verified member (a household)."""
    room = await session.get(ReplicaRoom, room_id)
    if room is None or room.community_id != community_id:
        raise CareRoomNotFound()
    member = await session.scalar(
        select(ReplicaBinding.binding_id)
        .where(ReplicaBinding.room_id == room_id, ReplicaBinding.active.is_(True))
        .limit(1)
    )
    if member is None:
        raise CareRoomNotFound()
    return room


async def flag_household(
    session: AsyncSession,
    community_id: str,
    room_id: str,
    *,
    categories: Sequence[str],
    note: str,
    contact_name: str,
    contact_phone: str,
    by: str,
    now: datetime,
) -> CareHouseholdOut:
    """Puts the household on the list, or changes its entry."""
    room = await _household(session, community_id, room_id)
    flag = await session.get(CareHousehold, room_id)
    values = {
        "categories": rules.unique(categories),
        "note": note,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "flagged_by": by,
        "updated_at": now,
    }
    if flag is None:
        flag = CareHousehold(room_id=room_id, community_id=community_id, created_at=now, **values)
        session.add(flag)
    else:
        for name, value in values.items():
            setattr(flag, name, value)
    await session.flush()
    return _entry(flag, room)


async def _flag(session: AsyncSession, community_id: str, room_id: str) -> CareHousehold:
    flag = await session.get(CareHousehold, room_id)
    if flag is None or flag.community_id != community_id:
        raise CareHouseholdNotFound()
    return flag


async def unflag_household(session: AsyncSession, community_id: str, room_id: str) -> None:
    await session.delete(await _flag(session, community_id, room_id))
    await session.flush()


async def care_list(
    session: AsyncSession, community_id: str, limit: int, cursor: str | None
) -> tuple[list[CareHouseholdOut], str | None]:
    stmt = (
        select(CareHousehold, ReplicaRoom)
        .join(ReplicaRoom, ReplicaRoom.room_id == CareHousehold.room_id)
        .where(CareHousehold.community_id == community_id)
    )
    rows, next_cursor = await keyset_page(
        session, stmt, CARE_ORDER, limit, cursor, key=lambda r: [r[1].label, r[0].room_id]
    )
    return [_entry(flag, room) for flag, room in rows], next_cursor


async def reveal_contact(
    session: AsyncSession, community_id: str, room_id: str, reason: str, by: str, now: datetime
) -> tuple[CareHousehold, CareReveal]:
    """The contact's full phone, for one call: the reveal (who, when, why) is recorded in the
    same unit of work, so no phone leaves without its record."""
    if not journey_rules.reveal_reason_ok(reason):
        raise RevealReasonRequired()
    flag = await _flag(session, community_id, room_id)
    room = await session.get(ReplicaRoom, room_id)
    record = CareReveal(
        community_id=community_id,
        room_id=room_id,
        room_label=room.label if room else "",
        revealed_by=by,
        reason=reason.strip(),
        revealed_at=now,
    )
    session.add(record)
    await session.flush()
    return flag, record


async def reveals(
    session: AsyncSession, community_id: str, limit: int, cursor: str | None
) -> tuple[list[RevealRecordOut], str | None]:
    """Every reveal of the community, newest first, with the staff member's name."""
    stmt = select(CareReveal).where(CareReveal.community_id == community_id)
    rows, next_cursor = await keyset_page(session, stmt, REVEAL_ORDER, limit, cursor)
    names: dict[str, str] = {}
    if rows:
        found = await session.execute(
            select(ReplicaStaff.account_id, ReplicaStaff.name).where(
                ReplicaStaff.community_id == community_id,
                ReplicaStaff.account_id.in_({r.revealed_by for r in rows}),
            )
        )
        names = {a: n for a, n in found.all()}
    return [
        RevealRecordOut(
            id=r.id,
            room_id=r.room_id,
            room_label=r.room_label,
            revealed_by=r.revealed_by,
            revealed_by_name=names.get(r.revealed_by, ""),
            reason=r.reason,
            revealed_at=r.revealed_at,
        )
        for r in rows
    ], next_cursor


async def flagged_categories(session: AsyncSession, room_ids: Iterable[str]) -> dict[str, list[str]]:
    """room_id -> care categories, for the rooms on the list among `room_ids`."""
    ids = list(room_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(CareHousehold.room_id, CareHousehold.categories).where(
            CareHousehold.room_id.in_(ids)
        )
    )
    return {room_id: list(categories) for room_id, categories in rows.all()}


async def drop_flags_of_empty_rooms(session: AsyncSession, room_ids: Iterable[str]) -> None:
    """Personal data goes with the household: a room with no verified member left is taken
    off the list (its contact's name and phone erased)."""
    ids = list(set(room_ids))
    if not ids:
        return
    still = set(
        (
            await session.scalars(
                select(ReplicaBinding.room_id).where(
                    ReplicaBinding.room_id.in_(ids), ReplicaBinding.active.is_(True)
                )
            )
        ).all()
    )
    empty = [r for r in ids if r not in still]
    if empty:
        await session.execute(delete(CareHousehold).where(CareHousehold.room_id.in_(empty)))


def register_care_handlers(handlers: EventHandlers) -> EventHandlers:
    """After the replica's own handlers of the same types (registered before these)."""

    @handlers.on("identity.binding.revoked")
    async def binding_revoked(session: AsyncSession, event: ReceivedEvent) -> None:
        await session.flush()
        await drop_flags_of_empty_rooms(session, [str(event.payload["room_id"])])

    @handlers.on("identity.account.deleted")
    async def account_deleted(session: AsyncSession, event: ReceivedEvent) -> None:
        await session.flush()
        rooms = await session.scalars(
            select(ReplicaBinding.room_id).where(
                ReplicaBinding.account_id == str(event.payload["account_id"])
            )
        )
        await drop_flags_of_empty_rooms(session, rooms.all())

    return handlers
