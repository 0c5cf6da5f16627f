"""Household use cases: a verified owner's family members and tenants — invitations (a
single-use code), accepting one, listing and removing the members of the room."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import execute_dml, new_id, utcnow
from services.identity import events, rules
from services.identity.bindings import (
    ensure_not_bound,
    insert_live,
    live_account,
    revoke_binding,
    room_with_building,
)
from services.identity.errors import BindingNotFound, InvitationInvalid, NotVerifiedOwner
from services.identity.models import Binding, Invitation


async def _owned_room_binding(session: AsyncSession, account_id: str, binding_id: str) -> Binding:
    owner = await session.get(Binding, binding_id)
    if (
        owner is None
        or owner.account_id != account_id
        or owner.relation != "owner"
        or owner.status != "verified"
    ):
        raise BindingNotFound()
    return owner


async def household_members(session: AsyncSession, account_id: str, binding_id: str) -> list[Binding]:
    """The family members and tenants of a verified owner's room (pending and verified)."""
    owner = await _owned_room_binding(session, account_id, binding_id)
    rows = await session.scalars(
        select(Binding)
        .where(
            Binding.room_id == owner.room_id,
            Binding.relation.in_(("family", "tenant")),
            Binding.status.in_(rules.LIVE_STATUSES),
        )
        .order_by(Binding.created_at, Binding.id)
    )
    return list(rows.all())


async def remove_member(
    session: AsyncSession, account_id: str, binding_id: str, member_id: str
) -> Binding:
    """A verified owner removes a family member or tenant of their room; a binding that is
    not one of those looks unknown."""
    owner = await _owned_room_binding(session, account_id, binding_id)
    member = await session.get(Binding, member_id)
    if (
        member is None
        or member.room_id != owner.room_id
        or member.relation not in ("family", "tenant")
        or member.status not in rules.LIVE_STATUSES
    ):
        raise BindingNotFound()
    await revoke_binding(session, member, "removed_by_owner")
    member.decided_by = account_id
    await session.flush()
    return member


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


async def create_invitation(
    session: AsyncSession, account_id: str, binding_id: str, relation: str
) -> tuple[str, datetime]:
    """A single-use code, valid seven days, for family or a tenant of a verified owner's room."""
    binding = await session.get(Binding, binding_id)
    if binding is None or binding.account_id != account_id:
        raise BindingNotFound()
    if binding.relation != "owner" or binding.status != "verified":
        raise NotVerifiedOwner()
    code = "".join(
        secrets.choice(rules.INVITATION_CODE_ALPHABET) for _ in range(rules.INVITATION_CODE_LENGTH)
    )
    expires_at = utcnow() + rules.INVITATION_TTL
    session.add(
        Invitation(
            id=new_id(),
            community_id=binding.community_id,
            binding_id=binding.id,
            relation=relation,
            code_hash=_hash_code(code),
            expires_at=expires_at,
        )
    )
    await session.flush()
    return code, expires_at


async def accept_invitation(
    session: AsyncSession, account_id: str, code: str, name: str, phone: str
) -> Binding:
    await live_account(session, account_id)
    invitation = await session.scalar(select(Invitation).where(Invitation.code_hash == _hash_code(code)))
    now = utcnow()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise InvitationInvalid()
    parent = await session.get(Binding, invitation.binding_id)
    if parent is None or parent.status != "verified":
        raise InvitationInvalid()
    await ensure_not_bound(session, account_id, parent.room_id)
    # Single use even when two people race with the same code.
    claimed = await execute_dml(
        session,
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now),
    )
    if claimed != 1:
        raise InvitationInvalid()
    room, building = await room_with_building(session, parent.room_id)
    binding = Binding(
        id=new_id(),
        community_id=parent.community_id,
        room_id=parent.room_id,
        account_id=account_id,
        relation=invitation.relation,
        name=rules.normalize_name(name),
        phone=rules.normalize_phone(phone),
        status="verified",
        parent_binding_id=parent.id,
        created_at=now,
        decided_at=now,
    )
    await insert_live(session, binding)
    await events.binding_verified(session, binding, room, building)
    return binding
