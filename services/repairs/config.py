"""A community's repair categories: their departments and SLA minutes, its own or the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.community_settings import merge_settings, read_settings
from services.repairs import rules
from services.repairs.models import CommunityConfig
from services.repairs.schemas import CategoryConfig, RepairsConfig
from services.repairs.settings import Settings


@dataclass(frozen=True)
class CategorySettings:
    key: str
    name: str
    department: rules.Department
    arrive_minutes: int
    resolve_minutes: int


def default_sla(settings: Settings, key: str) -> tuple[int, int]:
    """(arrive, resolve) minutes of a category from the settings, else those of "other"."""
    sla = settings.category_sla_minutes
    arrive, resolve = sla.get(key) or sla["other"]
    return arrive, resolve


async def categories_of(
    session: AsyncSession, settings: Settings, community_id: str
) -> dict[str, CategorySettings]:
    """The community's categories (its own configuration, else the defaults), with SLA."""
    stored = await read_settings(session, CommunityConfig, community_id)
    raw: list[dict[str, Any]] | None = stored.get("categories")
    entries: list[tuple[str, str, str, int | None, int | None]]
    if raw:
        entries = [
            (c["key"], c["name"], c["department"], c.get("arrive_minutes"), c.get("resolve_minutes"))
            for c in raw
        ]
    else:
        entries = [(c.key, c.name, c.department, None, None) for c in rules.DEFAULT_CATEGORIES]
    out = {}
    for key, name, department, arrive, resolve in entries:
        d_arrive, d_resolve = default_sla(settings, key)
        out[key] = CategorySettings(
            # Stored configurations were validated by RepairsConfig when they were written.
            key, name, cast(rules.Department, department), arrive or d_arrive, resolve or d_resolve
        )
    return out


async def sla_minutes(
    session: AsyncSession, settings: Settings, community_id: str, category: str
) -> tuple[int, int]:
    """(arrive, resolve) minutes of a ticket's category, as the community sets them now."""
    found = (await categories_of(session, settings, community_id)).get(category)
    if found is None:
        return default_sla(settings, category)
    return found.arrive_minutes, found.resolve_minutes


async def config_of(session: AsyncSession, settings: Settings, community_id: str) -> RepairsConfig:
    """The community's categories as the API shows them."""
    categories = await categories_of(session, settings, community_id)
    return RepairsConfig(
        categories=[
            CategoryConfig(
                key=c.key, name=c.name, department=c.department,
                arrive_minutes=c.arrive_minutes, resolve_minutes=c.resolve_minutes,
            )
            for c in categories.values()
        ]
    )


async def set_config(
    session: AsyncSession, community_id: str, config: RepairsConfig, now: datetime
) -> None:
    values = {"categories": [c.model_dump() for c in config.categories]}
    await merge_settings(session, CommunityConfig, community_id, values, now)
