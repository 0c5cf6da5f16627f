"""Applies identity's events (docs/events.md) to the replica tables. Each handler is an
upsert keyed by the entity id, so a redelivered or backfilled event leaves the same state."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow
from services.common.events.handlers import EventHandlers, ReceivedEvent
from services.common.identity_replica.models import (
    ReplicaBinding,
    ReplicaCommunity,
    ReplicaRoom,
    ReplicaStaff,
)

# What stands in for a deleted account's name wherever a name must stay (a ballot's caster,
# a ticket's reporter): its personal data is erased, the records that name it are kept.
DELETED_ACCOUNT_NAME = "已注销用户"


async def _upsert(session: AsyncSession, model: type[Any], key: Any, values: dict[str, Any]) -> None:
    row = await session.get(model, key)
    if row is None:
        session.add(model(**values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


async def on_community_created(session: AsyncSession, event: ReceivedEvent) -> None:
    p = event.payload
    await _upsert(
        session,
        ReplicaCommunity,
        p["community_id"],
        {"community_id": p["community_id"], "name": p.get("name", ""), "updated_at": utcnow()},
    )


async def on_room_upserted(session: AsyncSession, event: ReceivedEvent) -> None:
    p = event.payload
    await _upsert(
        session,
        ReplicaRoom,
        p["room_id"],
        {
            "room_id": p["room_id"],
            "community_id": p["community_id"],
            "building_id": p["building_id"],
            "building_name": p.get("building_name", ""),
            "unit": p.get("unit"),
            "room_no": p["room_no"],
            "label": p.get("label") or p["room_no"],
            "area": Decimal(str(p["area"])),
            "state": p["state"],
            "owner_key": p.get("owner_key"),
            "owners": p.get("owners") or [],
            "updated_at": utcnow(),
        },
    )


def _verified_at(event: ReceivedEvent, row: ReplicaBinding | None) -> datetime:
    """Identity's verification time; for an event from before it was sent, what the replica
    knew already, else when the event was written or arrived."""
    stated = event.payload.get("verified_at")
    if isinstance(stated, str):
        at = datetime.fromisoformat(stated)
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    if row is not None and row.verified_at is not None:
        return row.verified_at
    return event.created_at or utcnow()


async def on_binding_verified(session: AsyncSession, event: ReceivedEvent) -> None:
    p = event.payload
    verified_at = _verified_at(event, await session.get(ReplicaBinding, p["binding_id"]))
    await _upsert(
        session,
        ReplicaBinding,
        p["binding_id"],
        {
            "binding_id": p["binding_id"],
            "community_id": p["community_id"],
            "account_id": p["account_id"],
            "room_id": p["room_id"],
            "relation": p["relation"],
            "display_name": p.get("display_name") or "",
            "parent_binding_id": p.get("parent_binding_id"),
            "active": True,
            "verified_at": verified_at,
            "updated_at": utcnow(),
        },
    )


async def on_binding_revoked(session: AsyncSession, event: ReceivedEvent) -> None:
    p = event.payload
    # Revoked because the account was deleted: its name goes too. `identity.account.deleted`
    # says so as well, but it is ordered by account, not by binding, so it can arrive before
    # a late `binding.verified` that brings the name back; this revocation always follows it.
    erased = p.get("reason") == "account_deleted"
    row = await session.get(ReplicaBinding, p["binding_id"])
    if row is None:
        session.add(
            ReplicaBinding(
                binding_id=p["binding_id"],
                community_id=p["community_id"],
                account_id=p["account_id"],
                room_id=p["room_id"],
                relation=p.get("relation", "owner"),
                display_name=DELETED_ACCOUNT_NAME if erased else "",
                parent_binding_id=None,
                active=False,
                updated_at=utcnow(),
            )
        )
    else:
        row.active = False
        if erased:
            row.display_name = DELETED_ACCOUNT_NAME
        row.updated_at = utcnow()


async def on_staff_upserted(session: AsyncSession, event: ReceivedEvent) -> None:
    p = event.payload
    await _upsert(
        session,
        ReplicaStaff,
        (p["community_id"], p["account_id"]),
        {
            "community_id": p["community_id"],
            "account_id": p["account_id"],
            "staff_id": p.get("staff_id"),
            "name": p.get("name") or "",
            "role": p["role"],
            "department": p.get("department"),
            "active": True,
            "updated_at": utcnow(),
        },
    )


async def on_staff_removed(session: AsyncSession, event: ReceivedEvent) -> None:
    p = event.payload
    row = await session.get(ReplicaStaff, (p["community_id"], p["account_id"]))
    if row is not None:
        row.active = False
        row.updated_at = utcnow()


async def on_account_deleted(session: AsyncSession, event: ReceivedEvent) -> None:
    """Identity revokes the bindings and ends the staff roles with their own events; this
    also replaces the names the replica kept (display names, staff names) with
    `DELETED_ACCOUNT_NAME`, since the account's personal data is erased (the rows stay: they
    say who did what)."""
    account_id = event.payload["account_id"]
    await session.execute(
        update(ReplicaBinding)
        .where(ReplicaBinding.account_id == account_id)
        .values(active=False, display_name=DELETED_ACCOUNT_NAME, updated_at=utcnow())
    )
    await session.execute(
        update(ReplicaStaff)
        .where(ReplicaStaff.account_id == account_id)
        .values(active=False, name=DELETED_ACCOUNT_NAME, updated_at=utcnow())
    )


def register_identity_replica(handlers: EventHandlers) -> EventHandlers:
    handlers.on("identity.community.created")(on_community_created)
    handlers.on("identity.room.upserted")(on_room_upserted)
    handlers.on("identity.binding.verified")(on_binding_verified)
    handlers.on("identity.binding.revoked")(on_binding_revoked)
    handlers.on("identity.staff.upserted")(on_staff_upserted)
    handlers.on("identity.staff.removed")(on_staff_removed)
    handlers.on("identity.account.deleted")(on_account_deleted)
    return handlers
