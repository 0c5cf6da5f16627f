"""The caller's standing on each vote of a list: per room of theirs in the electorate,
voted / not_voted / not_eligible, and the vote's summary of those (the "to vote" badge).
Three queries for a whole page of votes, whatever its length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.identity_replica import queries as replica
from services.common.identity_replica.models import ReplicaBinding
from services.votes import rules
from services.votes.models import Ballot, Elector, Vote


@dataclass
class MyStanding:
    my_status: str  # rules.MyStatus
    # [{room_id, label, my_status}], the caller's rooms in the electorate
    my_rooms: list[dict[str, str]] = field(default_factory=list)


def rooms_by_relation(bindings: Sequence[ReplicaBinding]) -> dict[str, str]:
    by_room: dict[str, str] = {}
    for b in bindings:
        # An owner binding wins over family/tenant on the same room.
        if by_room.get(b.room_id) != "owner":
            by_room[b.room_id] = b.relation
    return by_room


async def standings(
    session: AsyncSession, account_id: str, votes: Sequence[Vote]
) -> dict[str, MyStanding]:
    """vote id -> the caller's standing, for every vote given."""
    out = {v.id: MyStanding(my_status="not_eligible") for v in votes}
    with_electorate = [v.id for v in votes if rules.has_electorate(v.status)]
    if not with_electorate:
        return out
    by_room = rooms_by_relation(await replica.active_bindings_of(session, account_id))
    if not by_room:
        return out
    rooms = list(by_room)
    electors = (
        await session.execute(
            select(Elector.vote_id, Elector.room_id, Elector.label).where(
                Elector.vote_id.in_(with_electorate), Elector.room_id.in_(rooms)
            )
        )
    ).all()
    ballots = await session.execute(
        select(Ballot.vote_id, Ballot.room_id).where(
            Ballot.vote_id.in_(with_electorate), Ballot.active_room_id.in_(rooms)
        )
    )
    voted = {(vote_id, room_id) for vote_id, room_id in ballots.all()}
    per_vote: dict[str, list[tuple[str, str]]] = {}
    for vote_id, room_id, label in sorted(electors, key=lambda e: (e[2], e[1])):
        per_vote.setdefault(vote_id, []).append((room_id, label))
    for vote_id, its_rooms in per_vote.items():
        statuses = [
            {
                "room_id": room_id,
                "label": label,
                "my_status": rules.room_status(
                    (vote_id, room_id) in voted, rules.can_vote_for(by_room[room_id])
                ),
            }
            for room_id, label in its_rooms
        ]
        out[vote_id] = MyStanding(
            my_status=rules.vote_status([s["my_status"] for s in statuses]), my_rooms=statuses
        )
    return out
