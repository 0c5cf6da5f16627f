"""Votes use cases: create and edit drafts, open (snapshot the electorate), close, cast
ballots, tally and publish results. Services flush, never commit."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, delete, distinct, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import new_id
from services.common.identity_replica import queries as replica
from services.common.pagination import decode_cursor, page_of
from services.votes import errors, events, rules
from services.votes.models import Ballot, BallotAnswer, CommunityConfig, Elector, Vote, VoteItem
from services.votes.schemas import (
    BallotIn,
    CommunitySettings,
    MotionIn,
    QuestionIn,
    VoteCreate,
    VoteUpdate,
)

log = logging.getLogger("votes")

# --- community settings ----------------------------------------------------------------------


async def community_settings(session: AsyncSession, community_id: str) -> dict[str, Any]:
    row = await session.get(CommunityConfig, community_id)
    return {**rules.DEFAULT_COMMUNITY_SETTINGS, **(row.settings if row else {})}


async def put_community_settings(
    session: AsyncSession, community_id: str, body: CommunitySettings, now: datetime
) -> dict[str, Any]:
    row = await session.get(CommunityConfig, community_id)
    values = body.model_dump()
    if row is None:
        session.add(CommunityConfig(community_id=community_id, settings=values, updated_at=now))
    else:
        row.settings = {**(row.settings or {}), **values}
        row.updated_at = now
    await session.flush()
    return await community_settings(session, community_id)


# --- drafts ------------------------------------------------------------------------------------


def _motion_item(vote: Vote, position: int, m: MotionIn) -> VoteItem:
    return VoteItem(
        id=new_id(),
        vote_id=vote.id,
        community_id=vote.community_id,
        position=position,
        kind="motion",
        title=m.title,
        matter=m.matter,
        max_choices=1,
        options=[{"id": o, "label": rules.MOTION_OPTION_LABELS[o]} for o in rules.MOTION_OPTIONS],
    )


def _question_item(vote: Vote, position: int, q: QuestionIn) -> VoteItem:
    max_choices = None
    if q.type == "single":
        max_choices = 1
    elif q.type == "multiple":
        max_choices = q.max_choices or len(q.options)
    return VoteItem(
        id=new_id(),
        vote_id=vote.id,
        community_id=vote.community_id,
        position=position,
        kind=q.type,
        title=q.title,
        max_choices=max_choices,
        options=[{"id": str(n), "label": label} for n, label in enumerate(q.options, start=1)],
    )


async def _check_scope(session: AsyncSession, community_id: str, building_ids: list[str] | None) -> None:
    if building_ids is None:
        return
    known = await replica.known_building_ids(session, community_id)
    unknown = sorted(set(building_ids) - known)
    if unknown:
        raise errors.UnknownBuilding(details={"building_ids": unknown})


async def _replace_items(
    session: AsyncSession, vote: Vote, motions: list[MotionIn] | None, questions: list[QuestionIn] | None
) -> None:
    await session.execute(delete(VoteItem).where(VoteItem.vote_id == vote.id))
    if vote.kind == "vote":
        session.add_all([_motion_item(vote, n, m) for n, m in enumerate(motions or [])])
    else:
        session.add_all([_question_item(vote, n, q) for n, q in enumerate(questions or [])])


async def create_vote(session: AsyncSession, principal: Principal, body: VoteCreate, now: datetime) -> Vote:
    if body.closes_at <= now:
        raise errors.ClosingTimePassed()
    building_ids = body.scope.building_ids
    await _check_scope(session, body.community_id, building_ids)
    vote = Vote(
        id=new_id(),
        community_id=body.community_id,
        kind=body.kind,
        title=body.title,
        description=body.description,
        building_ids=sorted(set(building_ids)) if building_ids is not None else None,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        allow_change=body.allow_change,
        anonymous=body.anonymous,
        live_results=body.live_results,
        status="draft",
        created_by=principal.account_id,
        created_at=now,
        updated_at=now,
        closing_soon_sent=False,
    )
    session.add(vote)
    await session.flush()
    await _replace_items(session, vote, body.motions, body.questions)
    await session.flush()
    return vote


async def _lock(session: AsyncSession, vote: Vote, *, shared: bool = False) -> None:
    """Re-reads the vote under a row lock (PostgreSQL; SQLite serializes writers anyway), so
    state changes are decided on the current status: opening and closing take it exclusively,
    ballots shared, which makes a close wait for the ballots in flight and vice versa."""
    await session.refresh(vote, with_for_update={"read": True} if shared else True)


async def update_vote(session: AsyncSession, vote: Vote, body: VoteUpdate, now: datetime) -> Vote:
    await _lock(session, vote)
    if not rules.can_edit(vote.status):
        raise errors.VoteNotEditable()
    changes = body.model_dump(exclude_unset=True)
    anonymous = changes.get("anonymous", vote.anonymous)
    allow_change = changes.get("allow_change", vote.allow_change)
    opens_at = changes.get("opens_at", vote.opens_at)
    closes_at = body.closes_at if body.closes_at is not None else vote.closes_at
    items_given = "motions" in changes or "questions" in changes
    current_kinds = {i.kind for i in await items_of(session, vote.id)}
    problem = rules.vote_problem(
        vote.kind,
        bool(body.motions) if items_given else "motion" in current_kinds,
        bool(body.questions) if items_given else bool(current_kinds - {"motion"}),
        anonymous=bool(anonymous),
        allow_change=bool(allow_change),
        opens_at=opens_at,
        closes_at=closes_at,
    )
    if problem is not None:
        raise errors.InvalidVote(problem)
    if closes_at <= now:
        raise errors.ClosingTimePassed()
    if body.scope is not None:
        await _check_scope(session, vote.community_id, body.scope.building_ids)
        ids = body.scope.building_ids
        vote.building_ids = sorted(set(ids)) if ids is not None else None
    for name in ("title", "description", "allow_change", "anonymous", "live_results"):
        if changes.get(name) is not None:
            setattr(vote, name, changes[name])
    if "opens_at" in changes:
        vote.opens_at = body.opens_at
    vote.closes_at = closes_at
    if items_given:
        await _replace_items(session, vote, body.motions, body.questions)
    vote.updated_at = now
    await session.flush()
    return vote


# --- opening and closing -------------------------------------------------------------------


def _hundredths(area_text: str) -> int:
    """'89.5' / '89.50' -> 8950, exactly (no float)."""
    return int(Decimal(area_text).quantize(rules.AREA_QUANTUM) * 100)


async def _snapshot_electorate(session: AsyncSession, vote: Vote) -> int:
    rows = await replica.room_snapshots(session, vote.community_id, vote.building_ids)
    if not rows:
        raise errors.EmptyElectorate()
    unit_of = [rules.owner_unit(rules.Elector(r[0], Decimal(0), r[4], r[5])) for r in rows]
    numbers: dict[str, int] = {}
    rooms_of: dict[str, int] = {}
    for unit in unit_of:
        numbers.setdefault(unit, len(numbers))
        rooms_of[unit] = rooms_of.get(unit, 0) + 1
    await session.execute(
        Elector.__table__.insert(),
        [
            {
                "vote_id": vote.id,
                "room_id": room_id,
                "community_id": vote.community_id,
                "building_id": building_id,
                "label": label,
                "area_hundredths": _hundredths(area),
                "state": state,
                "owner_key": owner_key,
                "owner_unit": numbers[unit],
                "multi_room": rooms_of[unit] > 1,
            }
            for (room_id, building_id, label, area, state, owner_key), unit in zip(rows, unit_of, strict=True)
        ],
    )
    return len(rows)


async def open_vote(session: AsyncSession, vote: Vote, now: datetime) -> Vote:
    """Opens now, or schedules the opening at `opens_at` when that is still ahead."""
    await _lock(session, vote)
    if not rules.can_open(vote.status):
        raise errors.VoteNotOpenable()
    if vote.closes_at <= now:
        raise errors.ClosingTimePassed()
    if vote.status == "draft" and vote.opens_at is not None and vote.opens_at > now:
        # Checked now, so a scheduled vote cannot fail to open for lack of rooms later unnoticed.
        if not await replica.room_snapshots(session, vote.community_id, vote.building_ids):
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
    await _lock(session, vote)
    if not rules.can_close(vote.status):
        raise errors.VoteNotClosable()
    vote.status = "closed"
    vote.closed_at = now
    vote.updated_at = now
    await session.flush()
    results = await compute_results(session, vote)
    vote.results = results
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
        if vote.closes_at <= now:
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


# --- reading -------------------------------------------------------------------------------


async def items_of(session: AsyncSession, vote_id: str) -> list[VoteItem]:
    stmt = select(VoteItem).where(VoteItem.vote_id == vote_id).order_by(VoteItem.position)
    return list((await session.scalars(stmt)).all())


@dataclass
class Viewer:
    """What the caller may do with a vote."""

    manager: bool
    # room_id -> relation of the caller's verified bindings on rooms of the electorate
    rooms: dict[str, str] = field(default_factory=dict)

    @property
    def owner_rooms(self) -> list[str]:
        return sorted(r for r, rel in self.rooms.items() if rel == "owner")


async def viewer_of(session: AsyncSession, vote: Vote, principal: Principal) -> Viewer | None:
    """The caller's standing on the vote: a manager of its community, or a verified member of
    a household in its electorate (open or closed votes only); None when neither."""
    manager = principal.is_manager_of(vote.community_id)
    rooms: dict[str, str] = {}
    if vote.status in ("open", "closed"):
        bindings = await replica.active_bindings_of(session, principal.account_id, vote.community_id)
        by_room: dict[str, str] = {}
        for b in bindings:
            # An owner binding wins over family/tenant on the same room.
            if by_room.get(b.room_id) != "owner":
                by_room[b.room_id] = b.relation
        if by_room:
            in_electorate = await session.scalars(
                select(Elector.room_id).where(Elector.vote_id == vote.id, Elector.room_id.in_(list(by_room)))
            )
            rooms = {r: by_room[r] for r in in_electorate.all()}
    if not manager and not rooms:
        return None
    return Viewer(manager=manager, rooms=rooms)


async def my_rooms(session: AsyncSession, vote: Vote, viewer: Viewer, account_id: str) -> list[dict[str, Any]]:
    if not viewer.rooms:
        return []
    electors = await session.execute(
        select(Elector.room_id, Elector.label, Elector.area_hundredths).where(
            Elector.vote_id == vote.id, Elector.room_id.in_(list(viewer.rooms))
        )
    )
    ballots = {
        b.room_id: b
        for b in (
            await session.scalars(
                select(Ballot).where(Ballot.vote_id == vote.id, Ballot.active_room_id.in_(list(viewer.rooms)))
            )
        ).all()
    }
    out = []
    for room_id, label, hundredths in sorted(electors.all(), key=lambda r: (r[1], r[0])):
        b = ballots.get(room_id)
        out.append(
            {
                "room_id": room_id,
                "label": label,
                "area": rules.area_str(Decimal(hundredths).scaleb(-2)),
                "can_vote": viewer.rooms[room_id] == "owner",
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
    rooms = await session.scalar(select(func.count()).select_from(Elector).where(Elector.vote_id == vote.id))
    cast = await session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote.id, Ballot.active_room_id.is_not(None))
    )
    return int(rooms or 0), int(cast or 0)


async def list_votes(
    session: AsyncSession,
    principal: Principal,
    community_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Vote], str | None]:
    """Managers: every vote of the communities they manage; others: open and closed votes
    whose electorate holds a room they are verified on."""
    after = decode_cursor(cursor, 2)
    bindings = await replica.active_bindings_of(session, principal.account_id, community_id)
    room_ids = sorted({b.room_id for b in bindings})
    managed = [c for c in principal.staff if principal.is_manager_of(c)]
    conditions = []
    if room_ids:
        in_electorate = select(Elector.vote_id).where(Elector.room_id.in_(room_ids))
        conditions.append(and_(Vote.status.in_(("open", "closed")), Vote.id.in_(in_electorate)))
    if managed:
        conditions.append(Vote.community_id.in_(managed))
    if principal.platform_admin and community_id is not None:
        conditions.append(Vote.community_id == community_id)
    if not conditions:
        return [], None
    stmt = select(Vote).where(or_(*conditions))
    if community_id is not None:
        stmt = stmt.where(Vote.community_id == community_id)
    if status is not None:
        stmt = stmt.where(Vote.status == status)
    if after is not None:
        try:
            created, vid = datetime.fromisoformat(str(after[0])), str(after[1])
        except ValueError as exc:
            raise errors.InvalidCursor() from exc
        if created.tzinfo is None:
            raise errors.InvalidCursor()
        stmt = stmt.where(or_(Vote.created_at < created, and_(Vote.created_at == created, Vote.id < vid)))
    stmt = stmt.order_by(Vote.created_at.desc(), Vote.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    return page_of(rows, limit, lambda v: [v.created_at.isoformat(), v.id])


# --- ballots -------------------------------------------------------------------------------


def _item_specs(items: Sequence[VoteItem]) -> list[rules.ItemSpec]:
    return [
        rules.ItemSpec(
            item_id=i.id,
            kind=i.kind,
            option_ids=tuple(o["id"] for o in i.options),
            max_choices=i.max_choices,
        )
        for i in items
    ]


async def cast_ballot(
    session: AsyncSession, vote: Vote, principal: Principal, body: BallotIn, now: datetime
) -> tuple[Ballot, bool]:
    """Casts (or, when the vote allows it, replaces) the ballot of one room. Returns the ballot
    and whether it replaced an earlier one."""
    await _lock(session, vote, shared=True)
    if not rules.accepts_ballots(vote.status, now, vote.closes_at):
        raise errors.VoteNotOpen()
    elector = await session.get(Elector, (vote.id, body.room_id))
    if elector is None:
        raise errors.RoomNotInElectorate()
    if not await replica.is_verified_on(session, principal.account_id, body.room_id, ("owner",)):
        raise errors.NotRoomOwner()
    items = await items_of(session, vote.id)
    answers = [
        rules.Answer(item_id=a.item_id, option_ids=tuple(a.option_ids or ()), text=a.text) for a in body.answers
    ]
    problem = rules.check_ballot(_item_specs(items), answers)
    if problem is not None:
        raise errors.InvalidBallot(problem.message, code=problem.code, details=problem.details)

    replaced = False
    current = await session.scalar(
        select(Ballot).where(Ballot.vote_id == vote.id, Ballot.active_room_id == body.room_id)
    )
    if current is not None:
        if not vote.allow_change:
            raise errors.AlreadyVoted()
        result = await session.execute(
            update(Ballot)
            .where(Ballot.id == current.id, Ballot.active_room_id.is_not(None))
            .values(active_room_id=None, replaced_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise errors.AlreadyVoted("该房屋的选票正在被修改，请刷新后重试", code="ballot_conflict")
        await session.execute(
            update(BallotAnswer)
            .where(BallotAnswer.ballot_id == current.id)
            .values(standing=False)
            .execution_options(synchronize_session=False)
        )
        replaced = True
    ballot = Ballot(
        id=new_id(),
        vote_id=vote.id,
        community_id=vote.community_id,
        room_id=body.room_id,
        active_room_id=body.room_id,
        cast_by=None if vote.anonymous else principal.account_id,
        # Anonymous surveys keep only that (and on which day) the room answered.
        cast_at=now.replace(hour=0, minute=0, second=0, microsecond=0) if vote.anonymous else now,
    )
    session.add(ballot)
    allow_change = vote.allow_change  # a failed flush expires every loaded object
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another ballot for the room was committed meanwhile: the database keeps one standing.
        if allow_change:
            raise errors.AlreadyVoted("该房屋的选票正在被修改，请刷新后重试", code="ballot_conflict") from exc
        raise errors.AlreadyVoted() from exc
    # Anonymous answers carry nothing that leads back to the room.
    traced = not vote.anonymous
    common = {
        "vote_id": vote.id,
        "community_id": vote.community_id,
        "ballot_id": ballot.id if traced else None,
        "standing": True,
        "room_id": elector.room_id if traced else None,
        "owner_unit": elector.owner_unit if traced else None,
        "multi_room": elector.multi_room if traced else None,
        "area_hundredths": elector.area_hundredths if traced else None,
    }
    session.add_all(
        [BallotAnswer(**common, item_id=a.item_id, option_id=o, text=None) for a in answers for o in a.option_ids]
        + [
            BallotAnswer(**common, item_id=a.item_id, option_id=None, text=a.text)
            for a in answers
            if a.text is not None and a.text.strip()
        ]
    )
    await session.flush()
    return ballot, replaced


# --- tally and results ---------------------------------------------------------------------


def _hundredths_to_area(value: Any) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


async def aggregate_motions(
    session: AsyncSession, vote_id: str, item_ids: Sequence[str], *, split_details: bool = True
) -> dict[str, rules.MotionAggregate]:
    """`rules.aggregate_motion` for every motion of the vote, done by the database: one grouped
    scan of the standing answers (covering index), then grouped scans of the answers of
    owners with several rooms only, and their room details only when some split their votes
    and the headcount mode needs them. Areas are integer hundredths of a m²,
    summed exactly."""
    total_hundredths, total_owners = (
        await session.execute(
            select(func.sum(Elector.area_hundredths), func.count(distinct(Elector.owner_unit))).where(
                Elector.vote_id == vote_id
            )
        )
    ).one()
    aggregates = {
        i: rules.MotionAggregate(total_area=_hundredths_to_area(total_hundredths), total_owners=int(total_owners or 0))
        for i in item_ids
    }
    a = BallotAnswer
    standing = (a.vote_id == vote_id, a.standing.is_(True), a.option_id.is_not(None), a.owner_unit.is_not(None))
    by_option = await session.execute(
        select(a.item_id, a.option_id, a.multi_room, func.sum(a.area_hundredths), func.count())
        .where(*standing)
        .group_by(a.item_id, a.option_id, a.multi_room)
    )
    for item_id, option_id, multi_room, hundredths, rooms in by_option.all():
        if item_id in aggregates and option_id in rules.MOTION_OPTIONS:
            agg = aggregates[item_id]
            agg.area_by_option[option_id] += _hundredths_to_area(hundredths)
            agg.rooms_by_option[option_id] += int(rooms)
            if not multi_room:  # each of these rooms is an owner of its own
                agg.single_minded_owners[option_id] += int(rooms)
    # Only owners of several rooms need grouping: a small share of the ballots.
    standing = (*standing, a.multi_room.is_(True))
    # Each owner who voted, by whether all their rooms chose one option (which) or not (NULL).
    per_owner = (
        select(
            a.item_id,
            func.min(a.option_id).label("first"),
            func.max(a.option_id).label("last"),
        )
        .where(*standing)
        .group_by(a.item_id, a.owner_unit)
        .subquery("per_owner")
    )
    one_option = case((per_owner.c.first == per_owner.c.last, per_owner.c.first), else_=None).label("option_id")
    owners = await session.execute(
        select(per_owner.c.item_id, one_option, func.count()).group_by(per_owner.c.item_id, one_option)
    )
    split_counts: dict[str, int] = {}
    for item_id, option_id, n in owners.all():
        if item_id not in aggregates:
            continue
        if option_id is None:
            split_counts[item_id] = int(n)
        elif option_id in rules.MOTION_OPTIONS:
            aggregates[item_id].single_minded_owners[option_id] += int(n)
    if not split_counts:
        return aggregates
    if not split_details:
        for item_id, n in split_counts.items():
            aggregates[item_id].split_owners_uncounted_details = n
        return aggregates
    split_units = (
        select(a.item_id, a.owner_unit)
        .where(*standing)
        .group_by(a.item_id, a.owner_unit)
        .having(func.min(a.option_id) != func.max(a.option_id))
        .subquery("split_units")
    )
    split_rows = await session.execute(
        select(a.item_id, a.owner_unit, a.option_id, func.sum(a.area_hundredths), func.count())
        .join(split_units, and_(split_units.c.item_id == a.item_id, split_units.c.owner_unit == a.owner_unit))
        .where(*standing)
        .group_by(a.item_id, a.owner_unit, a.option_id)
        .order_by(a.item_id, a.owner_unit)
    )
    split: dict[tuple[str, int], dict[str, tuple[Decimal, int]]] = {}
    for item_id, owner, option_id, hundredths, rooms in split_rows.all():
        split.setdefault((item_id, owner), {})[option_id] = (_hundredths_to_area(hundredths), int(rooms))
    for (item_id, _owner), per_option in split.items():
        if item_id in aggregates:
            aggregates[item_id].split_owners.append(per_option)
    return aggregates


async def compute_results(session: AsyncSession, vote: Vote, *, with_texts: bool = False) -> dict[str, Any]:
    """Results of the vote as they stand: one query for the electorate, one for the answers,
    one pass of the tally per motion."""
    items = await items_of(session, vote.id)
    settings = vote.tally_settings or rules.DEFAULT_COMMUNITY_SETTINGS
    electorate_rooms, cast = await counts_of(session, vote)
    out: dict[str, Any] = {
        "vote_id": vote.id,
        "kind": vote.kind,
        "status": vote.status,
        "final": vote.status == "closed",
        "electorate_rooms": electorate_rooms,
        "ballots": cast,
        "settings": settings,
        "motions": [],
        "questions": [],
    }
    if vote.kind == "vote":
        tally_rules = rules.TallyRules.from_settings(settings)
        aggregates = await aggregate_motions(
            session, vote.id, [i.id for i in items], split_details=rules.needs_split_details(tally_rules)
        )
        out["motions"] = [
            rules.motion_result(i.id, i.title, rules.tally_aggregate(aggregates[i.id], i.matter or "ordinary", tally_rules))
            for i in items
        ]
        return out
    counts: dict[tuple[str, str], int] = {}
    count_rows = await session.execute(
        select(BallotAnswer.item_id, BallotAnswer.option_id, func.count())
        .where(
            BallotAnswer.vote_id == vote.id,
            BallotAnswer.standing.is_(True),
            BallotAnswer.option_id.is_not(None),
        )
        .group_by(BallotAnswer.item_id, BallotAnswer.option_id)
    )
    for item_id, option_id, n in count_rows.all():
        counts[(item_id, option_id)] = int(n)
    texts: dict[str, list[str]] = {}
    if with_texts:
        text_rows = await session.execute(
            select(BallotAnswer.item_id, BallotAnswer.text)
            .where(BallotAnswer.vote_id == vote.id, BallotAnswer.standing.is_(True), BallotAnswer.text.is_not(None))
            .order_by(BallotAnswer.id)
        )
        for item_id, text in text_rows.all():
            texts.setdefault(item_id, []).append(text)
    for i in items:
        q: dict[str, Any] = {"item_id": i.id, "title": i.title, "type": i.kind, "max_choices": i.max_choices}
        if i.kind == "text":
            q["answers"] = len(texts.get(i.id, [])) if with_texts else None
            if with_texts:
                q["texts"] = texts.get(i.id, [])
        else:
            q["options"] = [
                {"id": o["id"], "label": o["label"], "count": counts.get((i.id, o["id"]), 0)} for o in i.options
            ]
        out["questions"].append(q)
    return out


async def results_for(session: AsyncSession, vote: Vote, viewer: Viewer) -> dict[str, Any]:
    """Owners: the published results after closing. Managers: live while open if the vote
    allows it; free-text answers of surveys only to managers."""
    if vote.status == "closed":
        published = dict(vote.results or await compute_results(session, vote))
        if viewer.manager and vote.kind == "survey":
            return await compute_results(session, vote, with_texts=True)
        return published
    if vote.status == "open" and viewer.manager and vote.live_results:
        return await compute_results(session, vote, with_texts=vote.kind == "survey")
    raise errors.ResultsNotAvailable()


async def room_results(
    session: AsyncSession, vote: Vote, viewer: Viewer, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The published per-room record: label, area and, for a vote, each motion's choice —
    never a name."""
    if vote.kind != "vote":
        raise errors.NoRoomResults()
    await results_for(session, vote, viewer)  # same visibility as the results
    after = decode_cursor(cursor, 2)
    stmt = select(Elector.room_id, Elector.label, Elector.area_hundredths).where(Elector.vote_id == vote.id)
    if after is not None:
        stmt = stmt.where(
            or_(Elector.label > str(after[0]), and_(Elector.label == str(after[0]), Elector.room_id > str(after[1])))
        )
    page_rows = (await session.execute(stmt.order_by(Elector.label, Elector.room_id).limit(limit + 1))).all()
    page, next_cursor = page_of(list(page_rows), limit, lambda r: [r[1], r[0]])
    room_ids = [r[0] for r in page]
    answers: dict[str, dict[str, str]] = {}
    voted: set[str] = set()
    if room_ids:
        ballots = await session.execute(
            select(Ballot.room_id, BallotAnswer.item_id, BallotAnswer.option_id)
            .outerjoin(BallotAnswer, BallotAnswer.ballot_id == Ballot.id)
            .where(Ballot.vote_id == vote.id, Ballot.active_room_id.in_(room_ids))
        )
        for room_id, item_id, option_id in ballots.all():
            voted.add(room_id)
            if vote.kind == "vote" and item_id is not None and option_id is not None:
                answers.setdefault(room_id, {})[item_id] = option_id
    return [
        {
            "room_id": r[0],
            "label": r[1],
            "area": rules.area_str(Decimal(r[2]).scaleb(-2)),
            "voted": r[0] in voted,
            "answers": answers.get(r[0], {}),
        }
        for r in page
    ], next_cursor


async def ballots_csv(session: AsyncSession, vote: Vote) -> str:
    """Every ballot ever cast (standing and replaced) with who and when, for the record.
    Anonymous surveys list only the rooms that answered."""
    items = await items_of(session, vote.id)
    labels = {(i.id, o["id"]): o["label"] for i in items for o in i.options}
    electors = {
        r: (label, h)
        for r, label, h in (
            await session.execute(
                select(Elector.room_id, Elector.label, Elector.area_hundredths).where(Elector.vote_id == vote.id)
            )
        ).all()
    }
    ballots = list(
        (
            await session.scalars(select(Ballot).where(Ballot.vote_id == vote.id).order_by(Ballot.cast_at, Ballot.id))
        ).all()
    )
    per_ballot: dict[str, dict[str, list[str]]] = {}
    if not vote.anonymous:
        rows = await session.execute(
            select(BallotAnswer.ballot_id, BallotAnswer.item_id, BallotAnswer.option_id, BallotAnswer.text)
            .where(BallotAnswer.vote_id == vote.id)
            .order_by(BallotAnswer.id)
        )
        for ballot_id, item_id, option_id, text in rows.all():
            value = labels.get((item_id, option_id), option_id) if option_id is not None else text
            per_ballot.setdefault(ballot_id, {}).setdefault(item_id, []).append(value or "")
    names = await replica.display_names(session, vote.community_id, [b.cast_by for b in ballots if b.cast_by])
    buf = io.StringIO()
    writer = csv.writer(buf)
    head = ["房屋", "面积(㎡)", "状态", "投票时间"]
    if not vote.anonymous:
        head += ["选票编号", "投票人账号", "投票人", "被替换时间"] + [i.title for i in items]
    writer.writerow(head)
    for b in ballots:
        label, hundredths = electors.get(b.room_id, (b.room_id, 0))
        row = [
            label,
            rules.area_str(Decimal(hundredths).scaleb(-2)),
            "有效" if b.active_room_id is not None else "已被替换",
            b.cast_at.date().isoformat() if vote.anonymous else b.cast_at.isoformat(),
        ]
        if not vote.anonymous:
            answers = per_ballot.get(b.id, {})
            row += [
                b.id,
                b.cast_by or "",
                names.get(b.cast_by or "", ""),
                b.replaced_at.isoformat() if b.replaced_at else "",
            ] + [";".join(answers.get(i.id, [])) for i in items]
        writer.writerow(row)
    return buf.getvalue()
