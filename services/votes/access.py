"""Who may see a vote and what they see of it: the caller's standing, their rooms in the
electorate with their ballot status, the vote's items and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.identity_replica import queries as replica
from services.votes import rules, tally_rules
from services.votes.models import Ballot, Elector, Vote, VoteItem


@dataclass
class Viewer:
    """What the caller may do with a vote."""

    manager: bool
    # room_id -> relation of the caller's verified bindings on rooms of the electorate
    rooms: dict[str, str] = field(default_factory=dict)


class BallotStatus(TypedDict):
    ballot_id: str | None
    cast_at: datetime
    cast_by_me: bool


class MyRoom(TypedDict):
    """One of the caller's rooms in the electorate (`schemas.EligibleRoom`)."""

    room_id: str
    label: str
    area: str
    can_vote: bool
    ballot: BallotStatus | None


async def items_of(session: AsyncSession, vote_id: str) -> list[VoteItem]:
    stmt = select(VoteItem).where(VoteItem.vote_id == vote_id).order_by(VoteItem.position)
    return list((await session.scalars(stmt)).all())


async def viewer_of(session: AsyncSession, vote: Vote, principal: Principal) -> Viewer | None:
    """The caller's standing on the vote: a manager of its community, or a verified member of
    a household in its electorate (open or closed votes only); None when neither."""
    manager = principal.is_manager_of(vote.community_id)
    rooms: dict[str, str] = {}
    if rules.has_electorate(vote.status):
        bindings = await replica.active_bindings_of(
            session, principal.account_id, vote.community_id
        )
        by_room: dict[str, str] = {}
        for b in bindings:
            # An owner binding wins over family/tenant on the same room.
            if by_room.get(b.room_id) != "owner":
                by_room[b.room_id] = b.relation
        if by_room:
            in_electorate = await session.scalars(
                select(Elector.room_id).where(
                    Elector.vote_id == vote.id, Elector.room_id.in_(list(by_room))
                )
            )
            rooms = {r: by_room[r] for r in in_electorate.all()}
    if not manager and not rooms:
        return None
    return Viewer(manager=manager, rooms=rooms)


async def my_rooms(
    session: AsyncSession, vote: Vote, viewer: Viewer, account_id: str
) -> list[MyRoom]:
    if not viewer.rooms:
        return []
    electors = await session.execute(
        select(Elector.room_id, Elector.label, Elector.area_hundredths).where(
            Elector.vote_id == vote.id, Elector.room_id.in_(list(viewer.rooms))
        )
    )
    standing = await session.scalars(
        select(Ballot).where(
            Ballot.vote_id == vote.id, Ballot.active_room_id.in_(list(viewer.rooms))
        )
    )
    ballots = {b.room_id: b for b in standing.all()}
    out: list[MyRoom] = []
    for room_id, label, hundredths in sorted(electors.all(), key=lambda r: (r[1], r[0])):
        b = ballots.get(room_id)
        out.append(
            {
                "room_id": room_id,
                "label": label,
                "area": tally_rules.area_str(Decimal(hundredths).scaleb(-2)),
                "can_vote": rules.can_vote_for(viewer.rooms[room_id]),
                "ballot": None
                if b is None
                else {
                    "ballot_id": b.id if b.cast_by == account_id else None,
                    "cast_at": b.cast_at,
                    "cast_by_me": b.cast_by == account_id,
                },
            }
        )
    return out


async def counts_of(session: AsyncSession, vote: Vote) -> tuple[int, int]:
    """Rooms in the electorate and standing ballots."""
    rooms = await session.scalar(
        select(func.count()).select_from(Elector).where(Elector.vote_id == vote.id)
    )
    cast = await session.scalar(
        select(func.count())
        .select_from(Ballot)
        .where(Ballot.vote_id == vote.id, Ballot.active_room_id.is_not(None))
    )
    return int(rooms or 0), int(cast or 0)
