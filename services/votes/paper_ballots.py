"""Paper and proxy ballots entered by staff (纸质/委托投票): the room, the choices, who signed
the paper, a photo of it (an upload id) and who entered it. Counted like an online ballot;
the one-standing-ballot-per-room constraint keeps an online and a paper ballot for one room
from both counting, whichever comes first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.votes import errors, rules
from services.votes.access import items_of
from services.votes.ballots import answer_rows, item_specs
from services.votes.lifecycle import lock_vote
from services.votes.models import Ballot, Elector, Vote
from services.votes.schemas import PaperBallotIn


async def enter_paper_ballot(
    session: AsyncSession, vote: Vote, principal: Principal, body: PaperBallotIn, now: datetime
) -> Ballot:
    """Records a signed paper (or proxy) ballot for a room that has not voted, while the vote
    is open. Managers only (the route's `ManagedVote`)."""
    await lock_vote(session, vote, shared=True)
    elector = await session.get(Elector, (vote.id, body.room_id))
    if elector is None and rules.accepts_ballots(vote.status, now, vote.closes_at):
        raise errors.RoomNotInElectorate()
    standing = await session.scalar(
        select(Ballot.id).where(Ballot.vote_id == vote.id, Ballot.active_room_id == body.room_id)
    )
    problem = rules.accepts_paper_ballot(
        vote.status, now, vote.closes_at, room_voted=standing is not None
    )
    if problem == "vote_not_open":
        raise errors.VoteNotOpen()
    if problem == "room_already_voted":
        raise errors.RoomAlreadyVoted()
    assert elector is not None
    answers = [
        rules.Answer(item_id=a.item_id, option_ids=tuple(a.option_ids or ()), text=a.text)
        for a in body.answers
    ]
    invalid = rules.check_ballot(item_specs(await items_of(session, vote.id)), answers)
    if invalid is not None:
        raise invalid
    ballot = Ballot(
        id=new_id(),
        vote_id=vote.id,
        community_id=vote.community_id,
        room_id=body.room_id,
        active_room_id=body.room_id,
        cast_by=None,
        cast_at=rules.ballot_time(now, anonymous=vote.anonymous),
        source=body.source,
        signer=body.signer,
        photo_id=body.photo_id,
        entered_by=principal.account_id,
    )
    session.add(ballot)
    try:
        await session.flush()
    except IntegrityError as exc:
        # The owner's online ballot (or another entry) was committed meanwhile.
        raise errors.RoomAlreadyVoted() from exc
    session.add_all(answer_rows(vote, ballot, elector, answers))
    await session.flush()
    return ballot
