"""Dependencies that load and authorize together, so a route cannot forget the check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.common.auth import CurrentPrincipal, require_manager, require_staff
from services.common.db import SessionDep
from services.common.state import app_state
from services.identity.places import get_community
from services.identity.settings import Settings
from services.identity.wechat import WeChatClient


async def _managed_community(cid: str, principal: CurrentPrincipal, session: SessionDep) -> str:
    """The community id, when the caller manages it; unknown and foreign look the same."""
    require_manager(principal, cid)
    await get_community(session, cid)
    return cid


async def _staffed_community(cid: str, principal: CurrentPrincipal, session: SessionDep) -> str:
    """The community id, when the caller is on its staff; unknown and foreign look the same."""
    require_staff(principal, cid)
    await get_community(session, cid)
    return cid


def client_ip(request: Request) -> str:
    """The caller's address; behind the gateway, the first hop it recorded."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded:
        return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


# Identity's routes name the community `{cid}` (the common `ManagedCommunity` reads
# `community_id`); the check itself is the common one.
ManagedCommunity = Annotated[str, Depends(_managed_community)]
StaffedCommunity = Annotated[str, Depends(_staffed_community)]
SettingsDep = Annotated[Settings, Depends(app_state("settings", Settings))]
WeChatDep = Annotated[WeChatClient, Depends(app_state("wechat", WeChatClient))]
