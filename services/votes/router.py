"""HTTP routes of the votes service (behind the gateway under /api/v1)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from services.common.auth import CurrentPrincipal, ManagedCommunity, require_manager
from services.common.clock import Now
from services.common.csv_export import csv_response
from services.common.db import SessionDep
from services.common.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from services.votes import (
    access,
    ballots,
    community,
    drafts,
    export,
    lifecycle,
    listing,
    multi_room,
    my_status,
    rules,
)
from services.votes.deps import ManagedVote, VisibleVote
from services.votes.models import Vote, VoteItem
from services.votes.schemas import (
    BallotIn,
    BallotOut,
    BatchBallotIn,
    BatchBallotOut,
    CommunitySettings,
    ItemOut,
    MyRoomStatus,
    OptionOut,
    ResultsOut,
    RoomBallotOutcome,
    RoomResult,
    VoteCreate,
    VoteDetail,
    VoteOut,
    VoteSummary,
    VoteUpdate,
)
from services.votes.tally import Results, results_for

router = APIRouter(prefix="/votes", tags=["votes"])


def _vote_out(vote: Vote, items: list[VoteItem]) -> dict[str, Any]:
    return VoteOut(
        id=vote.id,
        community_id=vote.community_id,
        kind=vote.kind,
        title=vote.title,
        description=vote.description,
        building_ids=vote.building_ids,
        opens_at=vote.opens_at,
        closes_at=vote.closes_at,
        allow_change=vote.allow_change,
        anonymous=vote.anonymous,
        live_results=vote.live_results,
        status=vote.status,
        created_at=vote.created_at,
        opened_at=vote.opened_at,
        closed_at=vote.closed_at,
        items=[
            ItemOut(
                id=i.id,
                kind=i.kind,
                title=i.title,
                matter=i.matter,
                max_choices=i.max_choices,
                options=[OptionOut(**o) for o in i.options],
            )
            for i in items
        ],
    ).model_dump()


@router.get("/settings/{community_id}", response_model=CommunitySettings)
async def get_settings(community_id: ManagedCommunity, session: SessionDep) -> dict[str, Any]:
    return await community.community_settings(session, community_id)


@router.put("/settings/{community_id}", response_model=CommunitySettings)
async def put_settings(
    community_id: ManagedCommunity, body: CommunitySettings, session: SessionDep, now: Now
) -> dict[str, Any]:
    """The community's tally settings; a vote keeps those in force when it opened."""
    return await community.put_community_settings(session, community_id, body, now)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VoteOut)
async def create_vote(
    body: VoteCreate, session: SessionDep, principal: CurrentPrincipal, now: Now
) -> dict[str, Any]:
    require_manager(principal, body.community_id)
    vote = await drafts.create_vote(session, principal, body, now)
    return _vote_out(vote, await access.items_of(session, vote.id))


@router.patch("/{vote_id}", response_model=VoteOut)
async def update_vote(
    body: VoteUpdate, vote: ManagedVote, session: SessionDep, now: Now
) -> dict[str, Any]:
    vote = await drafts.update_vote(session, vote, body, now)
    return _vote_out(vote, await access.items_of(session, vote.id))


@router.post("/{vote_id}/open", response_model=VoteOut)
async def open_vote(vote: ManagedVote, session: SessionDep, now: Now) -> dict[str, Any]:
    vote = await lifecycle.open_vote(session, vote, now)
    return _vote_out(vote, await access.items_of(session, vote.id))


@router.post("/{vote_id}/close", response_model=VoteOut)
async def close_vote(vote: ManagedVote, session: SessionDep, now: Now) -> dict[str, Any]:
    vote = await lifecycle.close_vote(session, vote, now)
    return _vote_out(vote, await access.items_of(session, vote.id))


@router.get("", response_model=Page[VoteSummary])
async def list_votes(
    session: SessionDep,
    principal: CurrentPrincipal,
    community_id: Annotated[str | None, Query(max_length=36)] = None,
    status_: Annotated[
        Literal["draft", "scheduled", "open", "closed"] | None, Query(alias="status")
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    rows, next_cursor = await listing.list_votes(
        session, principal, community_id, status_, limit, cursor
    )
    mine = await my_status.standings(session, principal.account_id, rows)
    return {
        "items": [
            VoteSummary.model_validate(v, from_attributes=True).model_copy(
                update={
                    "my_status": mine[v.id].my_status,
                    "my_rooms": [MyRoomStatus.model_validate(r) for r in mine[v.id].my_rooms],
                }
            )
            for v in rows
        ],
        "next_cursor": next_cursor,
    }


@router.get("/{vote_id}", response_model=VoteDetail)
async def get_vote(view: VisibleVote, session: SessionDep) -> dict[str, Any]:
    """The vote, and the caller's rooms in its electorate with their ballot status."""
    vote = view.vote
    out = _vote_out(vote, await access.items_of(session, vote.id))
    if view.viewer.manager and rules.has_electorate(vote.status):
        out["electorate_rooms"], out["ballots_cast"] = await access.counts_of(session, vote)
    out["my_rooms"] = await access.my_rooms(session, vote, view.viewer, view.principal.account_id)
    return out


@router.post("/{vote_id}/ballots", status_code=status.HTTP_201_CREATED, response_model=BallotOut)
async def cast_ballot(
    body: BallotIn, view: VisibleVote, session: SessionDep, now: Now
) -> BallotOut:
    ballot, replaced = await ballots.cast_ballot(session, view.vote, view.principal, body, now)
    return BallotOut(
        ballot_id=ballot.id,
        room_id=ballot.room_id,
        cast_at=ballot.cast_at,
        replaced_previous=replaced,
    )


@router.post("/{vote_id}/ballots/batch", response_model=BatchBallotOut)
async def cast_batch(
    body: BatchBallotIn, view: VisibleVote, session: SessionDep, now: Now
) -> BatchBallotOut:
    """One owner's several rooms in one request: the same answers cast as one ballot per
    room, each counted as any other; an outcome per room (rooms the caller may not vote for
    are `not_eligible`). Safe to repeat: rooms already holding these answers are `unchanged`."""
    outcomes = await multi_room.cast_for_rooms(
        session, view.vote, view.viewer, view.principal, body.room_ids, body.answers, now
    )
    return BatchBallotOut(
        rooms=[RoomBallotOutcome(**asdict(o)) for o in outcomes],
        counted=sum(o.outcome in ("cast", "replaced", "unchanged") for o in outcomes),
    )


@router.get("/{vote_id}/results", response_model=ResultsOut)
async def results(view: VisibleVote, session: SessionDep) -> Results:
    return await results_for(session, view.vote, view.viewer)


@router.get("/{vote_id}/results/rooms", response_model=Page[RoomResult])
async def room_results(
    view: VisibleVote,
    session: SessionDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The published record per room (label, area, choice per motion), never names."""
    items, next_cursor = await export.room_results(session, view.vote, view.viewer, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{vote_id}/ballots.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_ballots(vote: ManagedVote, session: SessionDep) -> Response:
    """Every ballot with who cast it and when, for the record (managers)."""
    header, rows = await export.ballots_csv(session, vote)
    return csv_response(f"vote-{vote.id}-ballots.csv", header, rows)
