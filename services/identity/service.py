"""Identity use cases: load, apply rules, write, add outbox events. Flush, never commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.common.errors import NotFound
from services.identity.models import Community


class CommunityNotFound(NotFound):
    code = "community_not_found"
    message = "小区不存在"


async def create_community(session: AsyncSession, name: str) -> Community:
    cid = new_id()
    community = Community(id=cid, community_id=cid, name=name.strip())
    session.add(community)
    await session.flush()
    return community


async def get_community_for(session: AsyncSession, principal: Principal, cid: str) -> Community:
    """The community, if the caller works there; unknown and foreign look the same (404)."""
    if not principal.is_staff_of(cid):
        raise CommunityNotFound()
    community = await session.get(Community, cid)
    if community is None:
        raise CommunityNotFound()
    return community
