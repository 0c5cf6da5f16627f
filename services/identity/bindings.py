"""Binding use cases: claim a room (verified at once on a roster match, else pending), review,
unbind, and revocation that cascades to the household (`households.py` invites its members)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, require_manager
from services.common.db import dialect_name, new_id, utcnow
from services.common.pagination import Keyset, keyset_page
from services.identity import events, rules
from services.identity.errors import (
    AccountGone,
    AlreadyBound,
    BindingInactive,
    BindingNotFound,
    BindingNotPending,
    PhoneNotVerified,
    RoomNotFound,
    TooManyBindingRequests,
    TooManyPendingOnRoom,
)
from services.identity.models import Account, Binding, Building, Room
from services.identity.schemas import BindingOut
from services.identity.settings import Settings

# The review queue: oldest request first, so the one waiting longest is handled first.
_OLDEST_FIRST = Keyset((Binding.created_at, Binding.id), ("datetime", "str"), descending=False)


async def live_account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None or account.deleted_at is not None:
        raise AccountGone()
    return account


async def room_with_building(session: AsyncSession, room_id: str) -> tuple[Room, Building]:
    row = (
        await session.execute(
            select(Room, Building).join(Building, Building.id == Room.building_id).where(Room.id == room_id)
        )
    ).first()
    if row is None:
        raise RoomNotFound()
    return row[0], row[1]


async def ensure_not_bound(session: AsyncSession, account_id: str, room_id: str) -> None:
    existing = await session.scalar(
        select(Binding.id).where(
            Binding.account_id == account_id, Binding.room_id == room_id, Binding.status.in_(rules.LIVE_STATUSES)
        )
    )
    if existing is not None:
        raise AlreadyBound()


async def _check_request_limits(
    session: AsyncSession, settings: Settings, account_id: str, room_id: str, now: datetime
) -> None:
    """Counted and then inserted under per-account and per-room locks held to the commit
    (PostgreSQL advisory locks, taken in that order; SQLite's BEGIN IMMEDIATE serialises
    anyway), so parallel requests cannot all pass a count taken before any of them was made."""
    if dialect_name(session) == "postgresql":
        for key in ("binding-account:" + account_id, "binding-room:" + room_id):
            await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
    requests_today = await session.scalar(
        select(func.count())
        .select_from(Binding)
        .where(
            Binding.account_id == account_id,
            Binding.parent_binding_id.is_(None),
            Binding.created_at > now - timedelta(days=1),
        )
    )
    pending_on_room = await session.scalar(
        select(func.count())
        .select_from(Binding)
        .where(Binding.room_id == room_id, Binding.status == "pending")
    )
    refusal = rules.binding_request_refusal(
        requests_today or 0,
        pending_on_room or 0,
        settings.binding_requests_per_day,
        settings.binding_pending_per_room,
    )
    if refusal == "account_daily":
        raise TooManyBindingRequests(headers={"Retry-After": "86400"})
    if refusal == "room_pending":
        raise TooManyPendingOnRoom()


async def request_binding(
    session: AsyncSession,
    settings: Settings,
    account_id: str,
    room_id: str,
    relation: str,
    name: str | None,
    phone: str | None,
) -> Binding:
    """Verified at once when the account's WeChat-verified phone and the name match a roster
    owner of the room (rules.owner_claim_verifies); else pending, for a manager or for the
    phone to be verified later. Limited per account and per room. Name and phone left out
    come from the verified phone and the roster (rules.claim_identity)."""
    account = await live_account(session, account_id)
    room, building = await room_with_building(session, room_id)
    claim = rules.claim_identity(relation, room.owners or [], name, phone, account.phone, account.name)
    if claim is None:
        raise PhoneNotVerified()
    await ensure_not_bound(session, account_id, room_id)
    now = utcnow()
    await _check_request_limits(session, settings, account_id, room_id, now)
    name, phone = claim
    verified = rules.owner_claim_verifies(relation, room.owners or [], name, account.phone)
    binding = Binding(
        id=new_id(),
        community_id=room.community_id,
        room_id=room.id,
        account_id=account_id,
        relation=relation,
        name=name,
        phone=phone,
        status="verified" if verified else "pending",
        created_at=now,
        decided_at=now if verified else None,
    )
    await insert_live(session, binding)
    if verified:
        await events.binding_verified(session, binding, room, building)
    else:
        events.binding_requested(session, binding)
    return binding


async def verify_pending_by_phone(session: AsyncSession, account: Account) -> int:
    """After the account's phone was verified: its pending owner claims that now match the
    roster become verified. Returns how many."""
    pending = (
        await session.scalars(
            select(Binding).where(
                Binding.account_id == account.id,
                Binding.status == "pending",
                Binding.relation == "owner",
            )
        )
    ).all()
    verified = 0
    for binding in pending:
        room, building = await room_with_building(session, binding.room_id)
        if rules.owner_claim_verifies("owner", room.owners or [], binding.name, account.phone):
            binding.status = "verified"
            binding.decided_at = utcnow()
            await session.flush()
            await events.binding_verified(session, binding, room, building)
            verified += 1
    return verified


async def revoke_by_manager(
    session: AsyncSession, principal: Principal, binding_id: str, reason: str
) -> Binding:
    """A manager undoes a verified binding (and what hangs off it); every service drops the
    access on `identity.binding.revoked`."""
    binding = await _binding_for_manager(session, principal, binding_id)
    if binding.status != "verified":
        raise BindingInactive()
    await revoke_binding(session, binding, reason.strip())
    binding.decided_by = principal.account_id
    await session.flush()
    return binding


async def _binding_for_manager(session: AsyncSession, principal: Principal, binding_id: str) -> Binding:
    """The binding, when the caller manages its community; unknown and foreign look the same
    (`binding_not_found`: the community is not in the request, the binding is)."""
    binding = await session.get(Binding, binding_id)
    if binding is None:
        raise BindingNotFound()
    require_manager(principal, binding.community_id, not_found=BindingNotFound)
    return binding


async def approve(session: AsyncSession, principal: Principal, binding_id: str) -> Binding:
    binding = await _binding_for_manager(session, principal, binding_id)
    if binding.status != "pending":
        raise BindingNotPending()
    room, building = await room_with_building(session, binding.room_id)
    binding.status = "verified"
    binding.decided_by = principal.account_id
    binding.decided_at = utcnow()
    await session.flush()
    await events.binding_verified(session, binding, room, building)
    return binding


async def reject(session: AsyncSession, principal: Principal, binding_id: str, reason: str) -> Binding:
    binding = await _binding_for_manager(session, principal, binding_id)
    if binding.status != "pending":
        raise BindingNotPending()
    binding.status = "rejected"
    binding.reason = reason.strip()
    binding.decided_by = principal.account_id
    binding.decided_at = utcnow()
    await session.flush()
    events.binding_rejected(session, binding)
    return binding


async def revoke_binding(session: AsyncSession, binding: Binding, reason: str) -> int:
    """Ends a pending or verified binding and everything hanging off it; an event for each
    that was verified. Returns how many bindings ended."""
    if binding.status not in rules.LIVE_STATUSES:
        return 0
    was_verified = binding.status == "verified"
    binding.status = "revoked"
    binding.reason = reason
    binding.decided_at = utcnow()
    count = 1
    if was_verified:
        events.binding_revoked(session, binding)
    children = (
        await session.scalars(
            select(Binding).where(Binding.parent_binding_id == binding.id, Binding.status.in_(rules.LIVE_STATUSES))
        )
    ).all()
    for child in children:
        count += await revoke_binding(session, child, "owner_binding_revoked")
    await session.flush()
    return count


async def unbind(session: AsyncSession, account_id: str, binding_id: str) -> Binding:
    binding = await session.get(Binding, binding_id)
    if binding is None or binding.account_id != account_id:
        raise BindingNotFound()
    if binding.status not in rules.LIVE_STATUSES:
        raise BindingInactive()
    await revoke_binding(session, binding, "unbound")
    return binding


async def insert_live(session: AsyncSession, binding: Binding) -> None:
    """Adds a pending or verified binding; a concurrent twin (a double tap) is AlreadyBound."""
    try:
        async with session.begin_nested():
            session.add(binding)
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyBound() from exc


async def review_queue(
    session: AsyncSession, cid: str, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Binding], str | None]:
    """One page of the community's bindings (of one status, if given), oldest first."""
    query = select(Binding).where(Binding.community_id == cid)
    if status:
        query = query.where(Binding.status == status)
    return await keyset_page(session, query, _OLDEST_FIRST, limit, cursor)


async def binding_views(
    session: AsyncSession, bindings: list[Binding], viewer: Principal
) -> list[BindingOut]:
    """Bindings as the API shows them, with room labels and phones masked for the viewer."""
    room_ids = {b.room_id for b in bindings}
    places: dict[str, tuple[Room, Building]] = {}
    if room_ids:
        rows = await session.execute(
            select(Room, Building).join(Building, Building.id == Room.building_id).where(Room.id.in_(room_ids))
        )
        places = {room.id: (room, building) for room, building in rows}
    out: list[BindingOut] = []
    for b in bindings:
        room, building = places[b.room_id]
        out.append(
            BindingOut(
                id=b.id,
                community_id=b.community_id,
                room_id=b.room_id,
                room_label=rules.room_label(building.name, room.unit, room.room_no),
                relation=b.relation,
                status=b.status,
                reason=b.reason,
                name=b.name,
                phone=rules.phone_for_viewer(
                    b.phone,
                    owner_account_id=b.account_id,
                    viewer_account_id=viewer.account_id,
                    viewer_manages_community=viewer.is_manager_of(b.community_id),
                ),
                display_name=rules.display_name(building.name, room.room_no, b.name),
                parent_binding_id=b.parent_binding_id,
                created_at=b.created_at,
                decided_at=b.decided_at,
            )
        )
    return out
