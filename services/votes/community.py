"""The community's tally settings: read with their defaults, and changed by its managers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.community_settings import merge_settings, read_settings
from services.votes import rules
from services.votes.models import CommunityConfig
from services.votes.schemas import CommunitySettings


async def community_settings(session: AsyncSession, community_id: str) -> dict[str, Any]:
    """The settings in force now (a vote freezes them when it opens)."""
    return await read_settings(
        session, CommunityConfig, community_id, rules.DEFAULT_COMMUNITY_SETTINGS
    )


async def put_community_settings(
    session: AsyncSession, community_id: str, body: CommunitySettings, now: datetime
) -> dict[str, Any]:
    await merge_settings(session, CommunityConfig, community_id, body.model_dump(), now)
    return await community_settings(session, community_id)
