"""HTTP routes of the turnout tools (managers): rooms that have not voted, a reminder to them,
and paper or proxy ballots entered by staff."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from services.common.auth import CurrentPrincipal
from services.common.clock import Now
from services.common.db import SessionDep
from services.common.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from services.votes import paper_ballots, turnout
from services.votes.deps import ManagedVote
from services.votes.schemas import NonVoterOut, PaperBallotIn, PaperBallotOut, ReminderOut
from services.votes.settings import Settings

router = APIRouter(prefix="/votes", tags=["votes"])


@router.get("/{vote_id}/non-voters", response_model=Page[NonVoterOut])
async def non_voters(
    vote: ManagedVote,
    session: SessionDep,
    building_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The electorate's rooms without a standing ballot, by label, optionally one building's;
    with the roster owners and their masked phones, for a follow-up call."""
    items, next_cursor = await turnout.non_voters(session, vote, building_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/{vote_id}/reminders", status_code=status.HTTP_202_ACCEPTED, response_model=ReminderOut)
async def remind_non_voters(
    vote: ManagedVote, session: SessionDep, now: Now, request: Request
) -> ReminderOut:
    """A push (and inbox entry) to the households of the rooms that have not voted, at most
    once per vote per `VOTES_REMINDER_INTERVAL_HOURS`."""
    settings: Settings = request.app.state.settings
    rooms, next_at = await turnout.remind_non_voters(
        session, vote, now, settings.reminder_interval_hours
    )
    return ReminderOut(vote_id=vote.id, rooms=rooms, reminded_at=now, next_allowed_at=next_at)


@router.post(
    "/{vote_id}/paper-ballots", status_code=status.HTTP_201_CREATED, response_model=PaperBallotOut
)
async def enter_paper_ballot(
    body: PaperBallotIn,
    vote: ManagedVote,
    principal: CurrentPrincipal,
    session: SessionDep,
    now: Now,
) -> PaperBallotOut:
    """A signed paper or proxy ballot for a room that has not voted, entered by a manager
    while the vote is open; counted like an online ballot."""
    ballot = await paper_ballots.enter_paper_ballot(session, vote, principal, body, now)
    return PaperBallotOut(
        ballot_id=ballot.id,
        room_id=ballot.room_id,
        source=ballot.source,
        signer=ballot.signer or "",
        photo_id=ballot.photo_id or "",
        entered_by=ballot.entered_by or "",
        cast_at=ballot.cast_at,
    )
