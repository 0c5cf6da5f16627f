"""Identity's HTTP routes: parse, call the service, map to a response."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.common.auth import CurrentPrincipal, PlatformAdmin
from services.common.db import SessionDep
from services.common.tokens import jwks_document
from services.identity import service
from services.identity.schemas import CommunityCreate, CommunityOut

router = APIRouter()
internal = APIRouter(include_in_schema=False)


@internal.get("/.well-known/jwks.json")
async def jwks(request: Request) -> dict:
    return jwks_document(request.app.state.signing_keys)


@router.post("/communities", status_code=201, response_model=CommunityOut, tags=["communities"])
async def create_community(body: CommunityCreate, session: SessionDep, admin: PlatformAdmin) -> CommunityOut:
    community = await service.create_community(session, body.name)
    return CommunityOut.model_validate(community)


@router.get("/communities/{cid}", response_model=CommunityOut, tags=["communities"])
async def get_community(cid: str, session: SessionDep, principal: CurrentPrincipal) -> CommunityOut:
    community = await service.get_community_for(session, principal, cid)
    return CommunityOut.model_validate(community)
