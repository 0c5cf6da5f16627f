"""One owner, several rooms, one request: the same choices cast as one ballot per room (each
counted as any other), with an outcome per room. Safe to repeat: a room whose standing ballot
already has these choices is left as it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.votes import errors, rules
from services.votes.access import Viewer
from services.votes.ballots import cast_ballot
from services.votes.models import Ballot, BallotAnswer, Vote
from services.votes.schemas import AnswerIn, BallotIn


@dataclass(frozen=True)
class RoomOutcome:
    room_id: str
    # cast | replaced | unchanged | already_voted | not_eligible
    outcome: str
    ballot_id: str | None = None


async def _standing_answers(
    session: AsyncSession, ballot_id: str
) -> list[tuple[str, str | None, str | None]]:
    rows = await session.execute(
        select(BallotAnswer.item_id, BallotAnswer.option_id, BallotAnswer.text).where(
            BallotAnswer.ballot_id == ballot_id, BallotAnswer.standing.is_(True)
        )
    )
    return [(i, o, t) for i, o, t in rows.all()]


async def cast_for_rooms(
    session: AsyncSession,
    vote: Vote,
    viewer: Viewer,
    principal: Principal,
    room_ids: list[str] | None,
    answers: list[AnswerIn],
    now: datetime,
) -> list[RoomOutcome]:
    """Casts `answers` for each of the rooms (all the caller's rooms in the electorate when
    None). Rooms the caller may not vote for are answered `not_eligible`, not refused; when
    none is eligible, nothing is cast and the answer is `not_room_owner`."""
    if not rules.accepts_ballots(vote.status, now, vote.closes_at):
        raise errors.VoteNotOpen()
    asked = list(dict.fromkeys(room_ids)) if room_ids is not None else sorted(viewer.rooms)
    eligible = [r for r in asked if rules.can_vote_for(viewer.rooms.get(r, ""))]
    if not eligible:
        raise errors.NotRoomOwner()
    wanted = [
        rules.Answer(item_id=a.item_id, option_ids=tuple(a.option_ids or ()), text=a.text)
        for a in answers
    ]
    standing = {
        b.room_id: b
        for b in (
            await session.scalars(
                select(Ballot).where(Ballot.vote_id == vote.id, Ballot.active_room_id.in_(eligible))
            )
        ).all()
    }
    outcomes: dict[str, RoomOutcome] = {
        r: RoomOutcome(r, "not_eligible") for r in asked if r not in eligible
    }
    anonymous, allow_change = vote.anonymous, vote.allow_change
    for room_id in eligible:
        current = standing.get(room_id)
        if current is not None:
            mine = None if anonymous else current.id
            if not anonymous and rules.same_answers(
                await _standing_answers(session, current.id), wanted
            ):
                outcomes[room_id] = RoomOutcome(room_id, "unchanged", mine)
                continue
            if not allow_change:
                outcomes[room_id] = RoomOutcome(room_id, "already_voted", mine)
                continue
        ballot, replaced = await cast_ballot(
            session, vote, principal, BallotIn(room_id=room_id, answers=answers), now
        )
        outcomes[room_id] = RoomOutcome(room_id, "replaced" if replaced else "cast", ballot.id)
    return [outcomes[r] for r in asked]
