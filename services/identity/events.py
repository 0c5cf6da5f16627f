"""The events identity emits (docs/events.md): payload builders, shared with the snapshots,
and the `emit` calls, always inside the caller's unit of work."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.events import emit
from services.common.events.outbox import emit_many
from services.common.phones import mask_phone
from services.identity import rules
from services.identity.models import Account, Binding, Building, Community, Staff


class RoomFacts(Protocol):
    """What a room event says about a room: a `Room`, or a row the roster import wrote."""

    @property
    def id(self) -> str: ...
    @property
    def community_id(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def room_no(self) -> str: ...
    @property
    def area(self) -> Decimal: ...
    @property
    def state(self) -> str: ...
    @property
    def owner_key(self) -> str | None: ...
    @property
    def owners(self) -> list[dict[str, Any]]: ...


def room_payload(room: RoomFacts, building: Building) -> dict[str, Any]:
    return {
        "community_id": room.community_id,
        "room_id": room.id,
        "building_id": building.id,
        "building_name": building.name,
        "unit": room.unit or None,
        "room_no": room.room_no,
        "label": rules.room_label(building.name, room.unit, room.room_no),
        "area": f"{room.area:.2f}",
        "state": room.state,
        "owner_key": room.owner_key,
        "owners": [
            {"owner_key": o["owner_key"], "name": o["name"], "phone_masked": mask_phone(o["phone"])}
            for o in room.owners or []
        ],
    }


def binding_verified_payload(
    binding: Binding, room: RoomFacts, building: Building, openid: str | None
) -> dict[str, Any]:
    """`openid` lets notices address WeChat pushes; identity stays the owner of openids."""
    return {
        "community_id": binding.community_id,
        "binding_id": binding.id,
        "account_id": binding.account_id,
        "room_id": binding.room_id,
        "relation": binding.relation,
        "display_name": rules.display_name(building.name, room.room_no, binding.name),
        "parent_binding_id": binding.parent_binding_id,
        "openid": openid,
        # From when its holder counts as one of the household (repairs shows them the room's
        # tickets filed since).
        "verified_at": (binding.decided_at or binding.created_at).isoformat(),
    }


def staff_payload(staff: Staff, openid: str | None) -> dict[str, Any]:
    """`openid`: the WeChat openid linked to the staff account (staff-login with a `wx.login`
    code), or null; notices addresses the staff member's pushes with it."""
    return {
        "community_id": staff.community_id,
        "account_id": staff.account_id,
        "staff_id": staff.id,
        "name": staff.name,
        "role": staff.role,
        "department": staff.department,
        "openid": openid,
    }


def community_created(session: AsyncSession, community: Community) -> None:
    emit(
        session,
        "identity.community.created",
        {"community_id": community.id, "name": community.name},
        ordering_key=community.id,
    )


async def rooms_upserted(
    session: AsyncSession, rooms: list[tuple[RoomFacts, Building]]
) -> None:
    """`identity.room.upserted` for many rooms at once (the roster import)."""
    await emit_many(
        session,
        "identity.room.upserted",
        [room_payload(room, building) for room, building in rooms],
        ordering_key_field="room_id",
    )


async def binding_verified(
    session: AsyncSession, binding: Binding, room: RoomFacts, building: Building
) -> None:
    account = await session.get(Account, binding.account_id)
    emit(
        session,
        "identity.binding.verified",
        binding_verified_payload(binding, room, building, account.openid if account else None),
        ordering_key=binding.id,
    )


def binding_rejected(session: AsyncSession, binding: Binding) -> None:
    emit(
        session,
        "identity.binding.rejected",
        {
            "community_id": binding.community_id,
            "binding_id": binding.id,
            "account_id": binding.account_id,
            "room_id": binding.room_id,
            "reason": binding.reason,
        },
        ordering_key=binding.id,
    )


def binding_revoked(session: AsyncSession, binding: Binding) -> None:
    emit(
        session,
        "identity.binding.revoked",
        {
            "community_id": binding.community_id,
            "binding_id": binding.id,
            "account_id": binding.account_id,
            "room_id": binding.room_id,
            "relation": binding.relation,
            "reason": binding.reason,
        },
        ordering_key=binding.id,
    )


def staff_upserted(session: AsyncSession, staff: Staff, openid: str | None) -> None:
    emit(
        session,
        "identity.staff.upserted",
        staff_payload(staff, openid),
        ordering_key=staff.account_id,
    )


def binding_requested(session: AsyncSession, binding: Binding) -> None:
    """A binding waits for a manager's review (no name or phone: managers see them in the
    review queue, not in the event)."""
    emit(
        session,
        "identity.binding.requested",
        {
            "community_id": binding.community_id,
            "binding_id": binding.id,
            "room_id": binding.room_id,
            "relation": binding.relation,
        },
        ordering_key=binding.id,
    )


def staff_removed(session: AsyncSession, staff: Staff) -> None:
    emit(
        session,
        "identity.staff.removed",
        {"community_id": staff.community_id, "account_id": staff.account_id, "staff_id": staff.id},
        ordering_key=staff.account_id,
    )


def account_deleted(session: AsyncSession, account_id: str, community_id: str) -> None:
    emit(
        session,
        "identity.account.deleted",
        {"community_id": community_id, "account_id": account_id},
        ordering_key=account_id,
    )
