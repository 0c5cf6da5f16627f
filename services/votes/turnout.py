"""Turnout tools for managers chasing a quorum: the electorate's rooms that have not voted
(paged, by building, owners' phones masked) and a reminder to those rooms only, at most once
per vote per `reminder_interval_hours`, sent as `votes.vote.reminder` for notices to push."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import throttle
from services.common.events import emit
from services.common.identity_replica.models import ReplicaRoom
from services.common.pagination import Keyset, keyset_page
from services.votes import errors, rules, tally_rules
from services.votes.models import Ballot, Elector, Vote

# Rooms by label, then id; the cursor is [label, room_id].
NON_VOTER_ORDER = Keyset((Elector.label, Elector.room_id), ("str", "str"), descending=False)
# Rooms named per `votes.vote.reminder` event: a 20,000-room electorate goes in a few events.
REMINDER_ROOMS_PER_EVENT = 1000


class OwnerContact(TypedDict):
    name: str
    phone_masked: str | None


class NonVoter(TypedDict):
    """A room of the electorate without a standing ballot (`schemas.NonVoterOut`)."""

    room_id: str
    label: str
    building_id: str
    building_name: str
    area: str
    owners: list[OwnerContact]


def _not_voted(vote_id: str, *columns: Any) -> Any:
    return (
        select(*columns)
        .select_from(Elector)
        .outerjoin(
            Ballot,
            and_(Ballot.vote_id == Elector.vote_id, Ballot.active_room_id == Elector.room_id),
        )
        .where(Elector.vote_id == vote_id, Ballot.id.is_(None))
    )


async def non_voters(
    session: AsyncSession,
    vote: Vote,
    building_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[NonVoter], str | None]:
    """One page of the rooms that have not voted, with their roster owners (phones masked as
    identity publishes them: this service never holds a full number)."""
    stmt = _not_voted(
        vote.id, Elector.room_id, Elector.label, Elector.building_id, Elector.area_hundredths
    )
    if building_id is not None:
        stmt = stmt.where(Elector.building_id == building_id)
    page, next_cursor = await keyset_page(
        session, stmt, NON_VOTER_ORDER, limit, cursor, key=lambda r: [r.label, r.room_id]
    )
    rooms: dict[str, ReplicaRoom] = {}
    if page:
        found = await session.scalars(
            select(ReplicaRoom).where(ReplicaRoom.room_id.in_([r.room_id for r in page]))
        )
        rooms = {r.room_id: r for r in found.all()}
    out: list[NonVoter] = []
    for r in page:
        replica = rooms.get(r.room_id)
        out.append(
            {
                "room_id": r.room_id,
                "label": r.label,
                "building_id": r.building_id,
                "building_name": replica.building_name if replica else "",
                "area": tally_rules.area_str(Decimal(r.area_hundredths).scaleb(-2)),
                "owners": [
                    {"name": o.get("name") or "", "phone_masked": o.get("phone_masked")}
                    for o in (replica.owners if replica else None) or []
                ],
            }
        )
    return out, next_cursor


async def _claim_reminder(
    session: AsyncSession, vote: Vote, now: datetime, interval_hours: float
) -> None:
    """Takes this vote's reminder slot: a conditional update, so two managers pressing the
    button at once send one reminder."""
    await throttle.claim_slot(
        session,
        Vote,
        Vote.id == vote.id,
        stamp=Vote.reminded_at,
        counter=Vote.reminders_sent,
        last=vote.reminded_at,
        now=now,
        interval_hours=interval_hours,
        too_soon=errors.ReminderTooSoon,
    )


def _reminder_events(
    session: AsyncSession, vote: Vote, reminder_no: int, room_ids: Sequence[str]
) -> None:
    for start in range(0, len(room_ids), REMINDER_ROOMS_PER_EVENT):
        emit(
            session,
            "votes.vote.reminder",
            {
                "community_id": vote.community_id,
                "vote_id": vote.id,
                "title": vote.title,
                "closes_at": vote.closes_at.isoformat(),
                "reminder_no": reminder_no,
                "room_ids": list(room_ids[start : start + REMINDER_ROOMS_PER_EVENT]),
            },
            ordering_key=vote.id,
        )


async def remind_non_voters(
    session: AsyncSession, vote: Vote, now: datetime, interval_hours: float
) -> tuple[int, datetime]:
    """Queues a reminder to the rooms without a standing ballot. Returns how many rooms it
    names and when the next reminder may go."""
    if not rules.accepts_ballots(vote.status, now, vote.closes_at):
        raise errors.VoteNotOpen()
    await _claim_reminder(session, vote, now, interval_hours)
    room_ids = list(
        (await session.scalars(_not_voted(vote.id, Elector.room_id).order_by(Elector.room_id))).all()
    )
    await session.refresh(vote)
    _reminder_events(session, vote, vote.reminders_sent, room_ids)
    await session.flush()
    return len(room_ids), rules.next_reminder_at(now, interval_hours) or now


async def ballots_by_source(session: AsyncSession, vote_id: str) -> dict[str, int]:
    """Standing ballots by how they came (online, paper, proxy): the results say so."""
    rows = await session.execute(
        select(Ballot.source, func.count())
        .where(Ballot.vote_id == vote_id, Ballot.active_room_id.is_not(None))
        .group_by(Ballot.source)
    )
    counts = dict.fromkeys(rules.BALLOT_SOURCES, 0)
    for source, n in rows.all():
        counts[source] = int(n)
    return counts
