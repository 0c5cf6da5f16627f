"""Dependencies that load and authorize together, so a route cannot forget the check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from services.common.auth import CurrentPrincipal
from services.common.db import SessionDep
from services.common.errors import BadRequest
from services.common.pagination import decode_cursor
from services.identity.service import CommunityNotFound, get_community
from services.identity.settings import Settings
from services.identity.wechat import WeChatClient


async def _managed_community(cid: str, principal: CurrentPrincipal, session: SessionDep) -> str:
    """The community id, when the caller manages it; unknown and foreign look the same."""
    if not principal.is_manager_of(cid):
        raise CommunityNotFound()
    await get_community(session, cid)
    return cid


async def _staffed_community(cid: str, principal: CurrentPrincipal, session: SessionDep) -> str:
    if not principal.is_staff_of(cid):
        raise CommunityNotFound()
    await get_community(session, cid)
    return cid


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _wechat(request: Request) -> WeChatClient:
    return request.app.state.wechat


def client_ip(request: Request) -> str:
    """The caller's address; behind the gateway, the first hop it recorded."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded:
        return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


ManagedCommunity = Annotated[str, Depends(_managed_community)]
StaffedCommunity = Annotated[str, Depends(_staffed_community)]
SettingsDep = Annotated[Settings, Depends(_settings)]
WeChatDep = Annotated[WeChatClient, Depends(_wechat)]


def time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """A `(created_at, id)` cursor as lists ordered that way encode it."""
    after = decode_cursor(cursor, 2)
    if after is None:
        return None
    try:
        return datetime.fromisoformat(str(after[0])), str(after[1])
    except ValueError as exc:
        raise BadRequest("分页游标无效", code="invalid_cursor") from exc
