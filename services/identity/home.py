"""Identity's part of the home screen (`GET /me/home`, assembled by the gateway): the
community and the caller's rooms in it with their binding statuses. It is also the check
that the caller belongs there: a member (any binding but a revoked one) or its staff."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import CommunityNotFound, CurrentPrincipal, Principal
from services.common.db import SessionDep
from services.common.validation import CommunityQuery
from services.identity import rules
from services.identity.models import Binding, Building, Community, Room
from services.identity.schemas import BindingStatus, CommunityBrief, Relation

internal = APIRouter(include_in_schema=False)

# What the home screen shows of the caller's claims: revoked ones are history.
SHOWN_STATUSES = ("pending", "verified", "rejected")


class HomeRoom(BaseModel):
    binding_id: str
    room_id: str
    room_label: str
    relation: Relation
    status: BindingStatus
    reason: str | None


class IdentityHomePart(BaseModel):
    community: CommunityBrief
    rooms: list[HomeRoom]


async def home_part(session: AsyncSession, principal: Principal, cid: str) -> IdentityHomePart:
    community = await session.get(Community, cid)
    if community is None:
        raise CommunityNotFound()
    rows = (
        await session.execute(
            select(Binding, Room, Building)
            .join(Room, Room.id == Binding.room_id)
            .join(Building, Building.id == Room.building_id)
            .where(
                Binding.account_id == principal.account_id,
                Binding.community_id == cid,
                Binding.status.in_(SHOWN_STATUSES),
            )
            .order_by(Binding.created_at, Binding.id)
        )
    ).all()
    if not rows and not principal.is_staff_of(cid):
        raise CommunityNotFound()
    return IdentityHomePart(
        community=CommunityBrief.model_validate(community),
        rooms=[
            HomeRoom(
                binding_id=b.id,
                room_id=room.id,
                room_label=rules.room_label(building.name, room.unit, room.room_no),
                relation=b.relation,
                status=b.status,
                reason=b.reason,
            )
            for b, room, building in rows
        ],
    )


@internal.get("/internal/home", response_model=IdentityHomePart)
async def internal_home(
    session: SessionDep,
    principal: CurrentPrincipal,
    community_id: CommunityQuery,
) -> IdentityHomePart:
    return await home_part(session, principal, community_id)
