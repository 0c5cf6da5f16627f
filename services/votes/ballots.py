"""Casting a room's ballot, or replacing it when the vote allows changes; one standing ballot
per room whatever the concurrency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import execute_dml, new_id
from services.common.identity_replica import queries as replica
from services.votes import errors, rules
from services.votes.access import items_of
from services.votes.lifecycle import lock_vote
from services.votes.models import Ballot, BallotAnswer, Elector, Vote, VoteItem
from services.votes.schemas import BallotIn


def item_specs(items: Sequence[VoteItem]) -> list[rules.ItemSpec]:
    return [
        rules.ItemSpec(
            item_id=i.id,
            kind=i.kind,
            option_ids=tuple(o["id"] for o in i.options),
            max_choices=i.max_choices,
        )
        for i in items
    ]


async def _set_aside(session: AsyncSession, current: Ballot, now: datetime) -> None:
    """Marks the room's standing ballot replaced; losing a race for it is a conflict."""
    replaced = await execute_dml(
        session,
        update(Ballot)
        .where(Ballot.id == current.id, Ballot.active_room_id.is_not(None))
        .values(active_room_id=None, replaced_at=now)
        .execution_options(synchronize_session=False),
    )
    if replaced != 1:
        raise errors.BallotConflict()
    await session.execute(
        update(BallotAnswer)
        .where(BallotAnswer.ballot_id == current.id)
        .values(standing=False)
        .execution_options(synchronize_session=False)
    )


def answer_rows(
    vote: Vote, ballot: Ballot, elector: Elector, answers: Sequence[rules.Answer]
) -> list[BallotAnswer]:
    """The stored answers of a ballot, each carrying the room's area and owner unit from the
    snapshot so the tally is one grouped scan; anonymous answers carry nothing that leads back
    to the room."""
    traced = not vote.anonymous
    common: dict[str, Any] = {
        "vote_id": vote.id,
        "community_id": vote.community_id,
        "ballot_id": ballot.id if traced else None,
        "standing": True,
        "room_id": elector.room_id if traced else None,
        "owner_unit": elector.owner_unit if traced else None,
        "multi_room": elector.multi_room if traced else None,
        "area_hundredths": elector.area_hundredths if traced else None,
    }
    return [
        BallotAnswer(**common, item_id=a.item_id, option_id=o, text=None)
        for a in answers
        for o in a.option_ids
    ] + [
        BallotAnswer(**common, item_id=a.item_id, option_id=None, text=a.text)
        for a in answers
        if a.text is not None and a.text.strip()
    ]


async def cast_ballot(
    session: AsyncSession, vote: Vote, principal: Principal, body: BallotIn, now: datetime
) -> tuple[Ballot, bool]:
    """Casts (or, when the vote allows it, replaces) the ballot of one room. Returns the ballot
    and whether it replaced an earlier one."""
    await lock_vote(session, vote, shared=True)
    if not rules.accepts_ballots(vote.status, now, vote.closes_at):
        raise errors.VoteNotOpen()
    elector = await session.get(Elector, (vote.id, body.room_id))
    if elector is None:
        raise errors.RoomNotInElectorate()
    if not await replica.is_verified_on(session, principal.account_id, body.room_id, ("owner",)):
        raise errors.NotRoomOwner()
    items = await items_of(session, vote.id)
    answers = [
        rules.Answer(item_id=a.item_id, option_ids=tuple(a.option_ids or ()), text=a.text)
        for a in body.answers
    ]
    problem = rules.check_ballot(item_specs(items), answers)
    if problem is not None:
        raise problem

    replaced = False
    current = await session.scalar(
        select(Ballot).where(Ballot.vote_id == vote.id, Ballot.active_room_id == body.room_id)
    )
    if current is not None:
        # A paper or proxy ballot entered by staff is final: it is not replaced online.
        if not vote.allow_change or not rules.replaceable_online(current.source):
            raise errors.AlreadyVoted()
        await _set_aside(session, current, now)
        replaced = True
    ballot = Ballot(
        id=new_id(),
        vote_id=vote.id,
        community_id=vote.community_id,
        room_id=body.room_id,
        active_room_id=body.room_id,
        cast_by=None if vote.anonymous else principal.account_id,
        # Anonymous surveys keep only that (and on which day) the room answered.
        cast_at=rules.ballot_time(now, anonymous=vote.anonymous),
    )
    session.add(ballot)
    allow_change = vote.allow_change  # a failed flush expires every loaded object
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another ballot for the room was committed meanwhile: the database keeps one standing.
        if allow_change:
            raise errors.BallotConflict() from exc
        raise errors.AlreadyVoted() from exc
    session.add_all(answer_rows(vote, ballot, elector, answers))
    await session.flush()
    return ballot, replaced
