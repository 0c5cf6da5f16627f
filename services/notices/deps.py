"""Dependencies of the notices routes: the runtime, and what is loaded and authorized in one
step (a notice the caller manages, a draft for a community they manage, the community whose
settings a platform admin sets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from services.common.auth import CurrentPrincipal, require_manager
from services.common.db import SessionDep
from services.common.state import app_state
from services.common.validation import CommunityQuery
from services.notices.errors import NoticeNotFound, SingleManagerModeAdminOnly
from services.notices.models import Notice
from services.notices.runtime import Runtime
from services.notices.schemas import NoticeCreate

IdPath = Annotated[str, Path(max_length=64)]


RuntimeDep = Annotated[Runtime, Depends(app_state("notices", Runtime))]


async def _notice_for_manager(
    notice_id: IdPath, principal: CurrentPrincipal, session: SessionDep
) -> Notice:
    """The notice, if the caller manages its community; otherwise it does not exist (404
    `notice_not_found` either way, so a notice's existence is not given away)."""
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NoticeNotFound()
    require_manager(principal, notice.community_id, not_found=NoticeNotFound)
    return notice


NoticeForManager = Annotated[Notice, Depends(_notice_for_manager)]


async def _managed_draft(body: NoticeCreate, principal: CurrentPrincipal) -> NoticeCreate:
    """The draft, once the caller is known to manage its community (the body names it)."""
    require_manager(principal, body.community_id)
    return body


ManagedDraft = Annotated[NoticeCreate, Depends(_managed_draft)]


async def _community_for_platform_admin(
    community_id: CommunityQuery, principal: CurrentPrincipal
) -> str:
    """`?community_id=` of the community's notice settings (single-manager mode), which only a
    platform admin may change. Its managers get a clear 403 rather than the usual 404: they
    know their community exists; and the answer is the same for every caller who is not a
    platform admin, whatever the community, so it tells nobody anything about it."""
    if not principal.platform_admin:
        raise SingleManagerModeAdminOnly()
    return community_id


CommunityForPlatformAdmin = Annotated[str, Depends(_community_for_platform_admin)]
