"""QR scenes: the code a property company prints per community (or building), created by a
manager, and what it resolves to for someone who scanned it, without login."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import rules
from services.identity.contact_card import public_contact
from services.identity.errors import BuildingNotFound, SceneNotFound
from services.identity.models import Building, Community, CommunityScene
from services.identity.schemas import BuildingRef, CommunityBrief, SceneLanding, SceneOut


def new_scene_code() -> str:
    return "".join(secrets.choice(rules.SCENE_ALPHABET) for _ in range(rules.SCENE_LENGTH))


def scene_out(row: CommunityScene) -> SceneOut:
    return SceneOut(
        scene=row.scene,
        community_id=row.community_id,
        building_id=row.building_id or None,
        created_at=row.created_at,
    )


async def scene_for(
    session: AsyncSession, cid: str, building_id: str | None, account_id: str
) -> tuple[CommunityScene, bool]:
    """The community's (or the building's) scene, created on first ask: printing the code
    twice gives the same code. Returns it and whether it was created now."""
    if building_id is not None:
        building = await session.get(Building, building_id)
        if building is None or building.community_id != cid:
            raise BuildingNotFound()
    key = building_id or ""
    stmt = select(CommunityScene).where(
        CommunityScene.community_id == cid, CommunityScene.building_id == key
    )
    existing = await session.scalar(stmt)
    if existing is not None:
        return existing, False
    row = CommunityScene(
        scene=new_scene_code(), community_id=cid, building_id=key, created_by=account_id
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Created meanwhile by a second click: that one is the community's code.
        again = await session.scalar(stmt)
        if again is None:
            raise
        return again, False
    return row, True


async def scenes_of(session: AsyncSession, cid: str) -> list[CommunityScene]:
    rows = await session.scalars(
        select(CommunityScene)
        .where(CommunityScene.community_id == cid)
        .order_by(CommunityScene.building_id, CommunityScene.scene)
    )
    return list(rows.all())


async def landing(session: AsyncSession, scene: str) -> SceneLanding:
    """The community (and building) a scanned code stands for, with its public contact
    numbers; an unknown code is 404."""
    if not rules.is_scene_code(scene):
        raise SceneNotFound()
    row = (
        await session.execute(
            select(CommunityScene, Community)
            .join(Community, Community.id == CommunityScene.community_id)
            .where(CommunityScene.scene == scene)
        )
    ).first()
    if row is None:
        raise SceneNotFound()
    code, community = row[0], row[1]
    building = await session.get(Building, code.building_id) if code.building_id else None
    return SceneLanding(
        community=CommunityBrief.model_validate(community),
        building=BuildingRef(id=building.id, name=building.name) if building else None,
        contact=await public_contact(session, community.id),
    )
