"""A vote's life after drafting: open it (snapshot the electorate and the tally settings),
schedule it, close it (publish the results), and the scheduler's pass over due votes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.votes import errors, events, rules, tally_rules
from services.votes.community import community_settings
from services.votes.electorate import room_snapshots
from services.votes.models import Elector, Vote
from services.votes.tally import compute_results

log = logging.getLogger("votes")


async def lock_vote(session: AsyncSession, vote: Vote, *, shared: bool = False) -> None:
    """Re-reads the vote under a row lock (PostgreSQL; SQLite serializes writers anyway), so
    state changes are decided on the current status: opening and closing take it exclusively,
    ballots shared, which makes a close wait for the ballots in flight and vice versa."""
    await session.refresh(vote, with_for_update={"read": True} if shared else True)


def _hundredths(area_text: str) -> int:
    """'89.5' / '89.50' -> 8950, exactly (no float)."""
    return int(Decimal(area_text).quantize(tally_rules.AREA_QUANTUM) * 100)


async def _snapshot_electorate(session: AsyncSession, vote: Vote) -> int:
    rooms = await room_snapshots(session, vote.community_id, vote.building_ids)
    if not rooms:
        raise errors.EmptyElectorate()
    unit_of = [
        tally_rules.owner_unit(tally_rules.Elector(r.room_id, Decimal(0), r.state, r.owner_key)) for r in rooms
    ]
    numbers: dict[str, int] = {}
    rooms_of: dict[str, int] = {}
    for unit in unit_of:
        numbers.setdefault(unit, len(numbers))
        rooms_of[unit] = rooms_of.get(unit, 0) + 1
    # Core executemany: thousands of rooms, no ORM objects needed.
    table = Elector.metadata.tables[Elector.__tablename__]
    await session.execute(
        table.insert(),
        [
            {
                "vote_id": vote.id,
                "room_id": r.room_id,
                "community_id": vote.community_id,
                "building_id": r.building_id,
                "label": r.label,
                "area_hundredths": _hundredths(r.area),
                "state": r.state,
                "owner_key": r.owner_key,
                "owner_unit": numbers[unit],
                "multi_room": rooms_of[unit] > 1,
            }
            for r, unit in zip(rooms, unit_of, strict=True)
        ],
    )
    return len(rooms)


async def open_vote(session: AsyncSession, vote: Vote, now: datetime) -> Vote:
    """Opens now, or schedules the opening at `opens_at` when that is still ahead."""
    await lock_vote(session, vote)
    if not rules.can_open(vote.status):
        raise errors.VoteNotOpenable()
    if rules.closing_time_passed(vote.closes_at, now):
        raise errors.ClosingTimePassed()
    if rules.opens_later(vote.status, vote.opens_at, now):
        # Checked now, so a scheduled vote cannot fail to open for lack of rooms later unnoticed.
        if not await room_snapshots(session, vote.community_id, vote.building_ids):
            raise errors.EmptyElectorate()
        vote.status = "scheduled"
        vote.updated_at = now
        await session.flush()
        return vote
    await _open_now(session, vote, now)
    return vote


async def _open_now(session: AsyncSession, vote: Vote, now: datetime) -> None:
    """Snapshots the electorate and the community's tally settings; the vote is open."""
    await _snapshot_electorate(session, vote)
    vote.tally_settings = await community_settings(session, vote.community_id)
    vote.status = "open"
    vote.opened_at = now
    vote.updated_at = now
    events.vote_opened(session, vote)
    await session.flush()


async def close_vote(session: AsyncSession, vote: Vote, now: datetime) -> Vote:
    await lock_vote(session, vote)
    if not rules.can_close(vote.status):
        raise errors.VoteNotClosable()
    vote.status = "closed"
    vote.closed_at = now
    vote.updated_at = now
    await session.flush()
    results = await compute_results(session, vote)
    # Stored as the JSON it is (the column holds any JSON object).
    vote.results = cast(dict[str, Any], results)
    events.vote_closed(session, vote, results)
    await session.flush()
    return vote


async def run_due(session: AsyncSession, now: datetime, closing_soon: timedelta) -> int:
    """The scheduler's work: open scheduled votes whose time came, close those whose time
    passed, announce those closing soon. Returns how many votes changed."""
    changed = 0
    due_open = await session.scalars(
        select(Vote)
        .where(Vote.status == "scheduled", Vote.opens_at <= now)
        .order_by(Vote.opens_at)
        .with_for_update(skip_locked=True)
    )
    for vote in due_open.all():
        try:
            async with session.begin_nested():
                await _open_now(session, vote, now)
        except errors.EmptyElectorate:
            # The rooms in scope went away since scheduling: back to draft for the manager.
            log.warning("scheduled vote has no rooms in scope", extra={"vote_id": vote.id})
            vote.status = "draft"
            vote.updated_at = now
            changed += 1
            continue
        if rules.closing_time_passed(vote.closes_at, now):
            # The scheduler was down past the whole voting period: open and close at once.
            await close_vote(session, vote, now)
        changed += 1
    due_close = await session.scalars(
        select(Vote).where(Vote.status == "open", Vote.closes_at <= now).order_by(Vote.closes_at)
    )
    for vote in due_close.all():
        await close_vote(session, vote, now)
        changed += 1
    soon = await session.scalars(
        select(Vote).where(
            Vote.status == "open",
            Vote.closing_soon_sent.is_(False),
            Vote.closes_at <= now + closing_soon,
        )
    )
    for vote in soon.all():
        vote.closing_soon_sent = True
        events.vote_closing_soon(session, vote)
        changed += 1
    await session.flush()
    return changed
