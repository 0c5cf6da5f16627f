"""The votes service's part of the home screen (`GET /me/home`, assembled by the gateway):
open votes in which a room of the caller's still waits for their ballot."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from services.common.auth import CurrentPrincipal
from services.common.db import SessionDep
from services.common.validation import CommunityQuery
from services.votes import listing, my_status
from services.votes.schemas import MyRoomStatus

internal = APIRouter(include_in_schema=False)

# Open votes looked at: a community rarely has more than a few open at once.
OPEN_VOTES_SCAN = 50


class HomeVote(BaseModel):
    id: str
    kind: str
    title: str
    closes_at: datetime
    my_rooms: list[MyRoomStatus]


class VotesHomePart(BaseModel):
    votes_to_do: list[HomeVote]


@internal.get("/internal/home", response_model=VotesHomePart)
async def internal_home(
    session: SessionDep,
    principal: CurrentPrincipal,
    community_id: CommunityQuery,
) -> VotesHomePart:
    votes, _ = await listing.list_votes(
        session, principal, community_id, "open", OPEN_VOTES_SCAN, None
    )
    mine = await my_status.standings(session, principal.account_id, votes)
    return VotesHomePart(
        votes_to_do=[
            HomeVote(
                id=v.id,
                kind=v.kind,
                title=v.title,
                closes_at=v.closes_at,
                my_rooms=[MyRoomStatus.model_validate(r) for r in mine[v.id].my_rooms],
            )
            for v in votes
            if mine[v.id].my_status == "not_voted"
        ]
    )
