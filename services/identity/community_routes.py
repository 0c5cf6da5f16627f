"""Identity's HTTP routes for running a community: communities and their buildings, the roster,
the review queue of bindings, staff, the cleanup report, QR scenes and the contact card. The
caller's own routes (auth, /me): router.py."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from services.common.auth import CurrentPrincipal, PlatformAdmin
from services.common.db import SessionDep, utcnow
from services.common.pagination import CursorParam, LimitParam, Page
from services.identity import (
    bindings,
    cleanup,
    contact_card,
    places,
    scenes,
    staff,
    staff_accounts,
)
from services.identity.deps import (
    ManagedCommunity,
    SettingsDep,
    StaffedCommunity,
)
from services.identity.rules import BindingStatus
from services.identity.schemas import (
    BindingOut,
    BuildingNode,
    BuildingTree,
    CleanupReport,
    CommunityBrief,
    CommunityCreate,
    CommunityOut,
    ContactCardIn,
    ContactCardOut,
    PasswordResetOut,
    RejectIn,
    RosterImportOut,
    SceneCreate,
    SceneLanding,
    SceneOut,
    StaffCreate,
    StaffCreated,
    StaffOut,
)

router = APIRouter()


# ---------------------------------------------------------------- communities and places


@router.post("/communities", status_code=201, response_model=CommunityOut, tags=["communities"])
async def create_community(body: CommunityCreate, session: SessionDep, admin: PlatformAdmin) -> CommunityOut:
    community = await places.create_community(session, body.name, body.city)
    return CommunityOut.model_validate(community)


@router.get("/communities", response_model=Page[CommunityBrief], tags=["communities"])
async def list_communities(
    session: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str | None, Query(max_length=50)] = None,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> Page[CommunityBrief]:
    """Communities to choose from before binding a room (names and cities only); `q`
    searches the name and the city."""
    items, next_cursor = await places.list_communities(session, cursor, limit, q)
    return Page(items=[CommunityBrief.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get("/communities/{cid}", response_model=CommunityOut, tags=["communities"])
async def get_community(cid: StaffedCommunity, session: SessionDep) -> CommunityOut:
    return CommunityOut.model_validate(await places.get_community(session, cid))


@router.get("/communities/{cid}/buildings", response_model=BuildingTree, tags=["communities"])
async def building_tree(
    cid: str, session: SessionDep, principal: CurrentPrincipal, rooms: bool = True
) -> places.RoomPicker:
    """The room picker (no personal data): buildings, units and rooms in one call; with
    `rooms=false` the buildings only, each with its room count, and then one building's units
    and rooms from `/communities/{cid}/buildings/{building_id}`."""
    return await places.building_tree(session, cid, with_rooms=rooms)


@router.get(
    "/communities/{cid}/buildings/{building_id}", response_model=BuildingNode, tags=["communities"]
)
async def one_building(
    cid: str, building_id: str, session: SessionDep, principal: CurrentPrincipal
) -> places.BuildingView:
    """One building's units and rooms, for the room picker's second step."""
    return await places.one_building(session, cid, building_id)


@router.post("/communities/{cid}/roster", response_model=RosterImportOut, tags=["communities"])
async def import_roster(
    cid: ManagedCommunity, session: SessionDep, file: Annotated[UploadFile, File()]
) -> RosterImportOut:
    data = await file.read()
    result = await places.import_roster(session, cid, data)
    return RosterImportOut(**asdict(result))


@router.get("/communities/{cid}/bindings", response_model=Page[BindingOut], tags=["communities"])
async def review_queue(
    cid: ManagedCommunity,
    session: SessionDep,
    principal: CurrentPrincipal,
    status: BindingStatus | None = Query(default=None),
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> Page[BindingOut]:
    items, next_cursor = await bindings.review_queue(session, cid, status, cursor, limit)
    views = await bindings.binding_views(session, items, principal)
    return Page(items=views, next_cursor=next_cursor)


@router.post("/bindings/{binding_id}/approve", response_model=BindingOut, tags=["communities"])
async def approve(binding_id: str, session: SessionDep, principal: CurrentPrincipal) -> BindingOut:
    binding = await bindings.approve(session, principal, binding_id)
    return (await bindings.binding_views(session, [binding], principal))[0]


@router.post("/bindings/{binding_id}/reject", response_model=BindingOut, tags=["communities"])
async def reject(
    binding_id: str, body: RejectIn, session: SessionDep, principal: CurrentPrincipal
) -> BindingOut:
    binding = await bindings.reject(session, principal, binding_id, body.reason)
    return (await bindings.binding_views(session, [binding], principal))[0]


@router.post("/bindings/{binding_id}/revoke", response_model=BindingOut, tags=["communities"])
async def revoke(
    binding_id: str, body: RejectIn, session: SessionDep, principal: CurrentPrincipal
) -> BindingOut:
    """A manager of the community undoes a verified binding, with a reason."""
    binding = await bindings.revoke_by_manager(session, principal, binding_id, body.reason)
    return (await bindings.binding_views(session, [binding], principal))[0]


@router.post("/communities/{cid}/staff", status_code=201, response_model=StaffCreated, tags=["communities"])
async def add_staff(
    cid: ManagedCommunity, body: StaffCreate, session: SessionDep, principal: CurrentPrincipal
) -> StaffCreated:
    member, initial_password = await staff.add_staff(
        session,
        cid,
        username=body.username,
        password=body.password,
        name=body.name,
        phone=body.phone,
        role=body.role,
        department=body.department,
        by_platform_admin=principal.platform_admin,
    )
    view = staff.staff_view(member, member.phone)
    return StaffCreated(**view.model_dump(), initial_password=initial_password)


@router.get("/communities/{cid}/staff", response_model=Page[StaffOut], tags=["communities"])
async def list_staff(
    cid: StaffedCommunity,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: LimitParam = 20,
    cursor: CursorParam = None,
) -> Page[StaffOut]:
    """Staff of the community; phones shown to managers and to each person, masked otherwise."""
    views, next_cursor = await staff.list_staff(session, cid, principal, cursor, limit)
    return Page(items=views, next_cursor=next_cursor)


@router.delete("/communities/{cid}/staff/{staff_id}", status_code=204, tags=["communities"])
async def remove_staff(cid: ManagedCommunity, staff_id: str, session: SessionDep) -> Response:
    await staff.remove_staff(session, cid, staff_id)
    return Response(status_code=204)


@router.post(
    "/communities/{cid}/staff/{staff_id}/password-reset",
    response_model=PasswordResetOut,
    tags=["communities"],
)
async def reset_staff_password(
    cid: ManagedCommunity, staff_id: str, session: SessionDep, principal: CurrentPrincipal
) -> PasswordResetOut:
    """A new password for a staff member, shown once: the platform admin or a manager of the
    community (not for someone who is also staff where the caller does not manage)."""
    password = await staff_accounts.reset_password(session, principal, cid, staff_id)
    return PasswordResetOut(password=password)


@router.get("/communities/{cid}/cleanup-report", response_model=CleanupReport, tags=["communities"])
async def cleanup_report(
    cid: ManagedCommunity, session: SessionDep, settings: SettingsDep
) -> CleanupReport:
    return await cleanup.cleanup_report(session, cid, settings.pending_stale_days)


# ---------------------------------------------------------------- QR scenes, the contact card


@router.get("/scenes/{scene}", response_model=SceneLanding, tags=["communities"], openapi_extra={"security": []})
async def scene_landing(scene: str, session: SessionDep) -> SceneLanding:
    """Where a scanned QR code lands: its community (and building) and the community's public
    contact numbers. No login needed (the Mini Program resolves it before logging in)."""
    return await scenes.landing(session, scene)


@router.post("/communities/{cid}/scenes", response_model=SceneOut, tags=["communities"])
async def create_scene(
    cid: ManagedCommunity, body: SceneCreate, session: SessionDep, principal: CurrentPrincipal
) -> SceneOut:
    """The QR `scene` of the community or one of its buildings (the same code on every ask)."""
    row, _ = await scenes.scene_for(session, cid, body.building_id, principal.account_id)
    return scenes.scene_out(row)


@router.get("/communities/{cid}/scenes", response_model=list[SceneOut], tags=["communities"])
async def list_scenes(cid: ManagedCommunity, session: SessionDep) -> list[SceneOut]:
    return [scenes.scene_out(r) for r in await scenes.scenes_of(session, cid)]


@router.put("/communities/{cid}/contact-card", response_model=ContactCardOut, tags=["communities"])
async def put_contact_card(
    cid: ManagedCommunity, body: ContactCardIn, session: SessionDep, principal: CurrentPrincipal
) -> ContactCardOut:
    """客服电话, office hours, emergency numbers and 群规, set by a manager."""
    card = await contact_card.put_card(session, cid, body, principal.account_id, utcnow())
    return contact_card.card_out(card)


@router.get("/communities/{cid}/contact-card", response_model=ContactCardOut, tags=["communities"])
async def get_contact_card(cid: str, session: SessionDep, principal: CurrentPrincipal) -> ContactCardOut:
    """The card, for the community's verified members and staff."""
    return contact_card.card_out(await contact_card.card_for_member(session, cid, principal))
