"""Tallying a vote: the art. 278 aggregation done by the database, the results as they
stand (live or published), and their typed JSON shapes."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NotRequired, TypedDict, cast

from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.votes import errors, rules, tally_rules
from services.votes.access import Viewer, counts_of, items_of
from services.votes.models import BallotAnswer, Elector, Vote
from services.votes.turnout import ballots_by_source

# --- the shapes of the results (`schemas.ResultsOut`, the `votes.vote.closed` event) ----------


class Total(TypedDict):
    area: str
    owners: int


class AreaAndOwners(TypedDict):
    area: str
    owners: str


class Share(TypedDict):
    """An area and a headcount with their ratios to a whole."""

    area: str
    owners: str
    area_ratio: str
    owners_ratio: str


class MotionResult(TypedDict):
    """The JSON form of one motion's tally (results endpoint and the closed event)."""

    item_id: str
    title: str
    matter: str
    outcome: tally_rules.Outcome
    quorum_met: bool
    ballots: int
    total: Total
    participation: Share
    agreement: Share
    options: dict[str, AreaAndOwners]
    mixed_owners: str
    deemed: AreaAndOwners
    thresholds: tally_rules.Thresholds


def motion_result(item_id: str, title: str, t: tally_rules.MotionTally) -> MotionResult:
    """The JSON form of one motion's tally."""
    return {
        "item_id": item_id,
        "title": title,
        "matter": t.matter,
        "outcome": t.outcome,
        "quorum_met": t.quorum_met,
        "ballots": t.ballots,
        "total": {"area": tally_rules.area_str(t.total_area), "owners": t.total_owners},
        "participation": {
            "area": tally_rules.area_str(t.participating_area),
            "owners": tally_rules.fraction_str(t.participating_owners),
            "area_ratio": tally_rules.fraction_str(tally_rules.ratio(t.participating_area, t.total_area)),
            "owners_ratio": tally_rules.fraction_str(tally_rules.ratio(t.participating_owners, t.total_owners)),
        },
        "agreement": {
            "area": tally_rules.area_str(t.agree_area),
            "owners": tally_rules.fraction_str(t.agree_owners),
            "area_ratio": tally_rules.fraction_str(tally_rules.ratio(t.agree_area, t.participating_area)),
            "owners_ratio": tally_rules.fraction_str(tally_rules.ratio(t.agree_owners, t.participating_owners)),
        },
        "options": {
            opt: {
                "area": tally_rules.area_str(t.area_by_option[opt]),
                "owners": tally_rules.fraction_str(t.owners_by_option[opt]),
            }
            for opt in rules.MOTION_OPTIONS
        },
        "mixed_owners": tally_rules.fraction_str(t.mixed_owners),
        "deemed": {
            "area": tally_rules.area_str(t.deemed_area),
            "owners": tally_rules.fraction_str(t.deemed_owners),
        },
        "thresholds": tally_rules.threshold_strings(t.matter),
    }


class OptionCount(TypedDict):
    id: str
    label: str
    count: int


class QuestionResult(TypedDict):
    """A survey question's counts; free-text answers only where the caller may read them."""

    item_id: str
    title: str
    type: str
    max_choices: int | None
    options: NotRequired[list[OptionCount]]
    answers: NotRequired[int | None]
    texts: NotRequired[list[str]]


class Results(TypedDict):
    vote_id: str
    kind: str
    status: str
    final: bool
    electorate_rooms: int
    ballots: int
    # Standing ballots by how they came: online, paper, proxy (absent in results published
    # before paper ballots existed).
    ballots_by_source: NotRequired[dict[str, int]]
    settings: dict[str, Any]
    motions: list[MotionResult]
    questions: list[QuestionResult]


# --- the aggregation ----------------------------------------------------------------------------


def _hundredths_to_area(value: Any) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


async def aggregate_motions(
    session: AsyncSession, vote_id: str, item_ids: Sequence[str], *, split_details: bool = True
) -> dict[str, tally_rules.MotionAggregate]:
    """`tally_rules.aggregate_motion` for every motion of the vote, done by the database: one grouped
    scan of the standing answers (covering index), then grouped scans of the answers of
    owners with several rooms only, and their room details only when some split their votes
    and the headcount mode needs them. Areas are integer hundredths of a m²,
    summed exactly."""
    total_hundredths, total_owners = (
        await session.execute(
            select(
                func.sum(Elector.area_hundredths), func.count(distinct(Elector.owner_unit))
            ).where(Elector.vote_id == vote_id)
        )
    ).one()
    aggregates = {
        i: tally_rules.MotionAggregate(
            total_area=_hundredths_to_area(total_hundredths), total_owners=int(total_owners or 0)
        )
        for i in item_ids
    }
    a = BallotAnswer
    standing: tuple[ColumnElement[bool], ...] = (
        a.vote_id == vote_id,
        a.standing.is_(True),
        a.option_id.is_not(None),
        a.owner_unit.is_not(None),
    )
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
    one_option = case((per_owner.c.first == per_owner.c.last, per_owner.c.first), else_=None).label(
        "option_id"
    )
    owners = await session.execute(
        select(per_owner.c.item_id, one_option, func.count()).group_by(
            per_owner.c.item_id, one_option
        )
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
        .join(
            split_units,
            and_(split_units.c.item_id == a.item_id, split_units.c.owner_unit == a.owner_unit),
        )
        .where(*standing)
        .group_by(a.item_id, a.owner_unit, a.option_id)
        .order_by(a.item_id, a.owner_unit)
    )
    split: dict[tuple[str, int], dict[str, tuple[Decimal, int]]] = {}
    for item_id, owner, option_id, hundredths, rooms in split_rows.all():
        # Both are NOT NULL by the `standing` conditions.
        assert owner is not None and option_id is not None
        split.setdefault((item_id, owner), {})[option_id] = (
            _hundredths_to_area(hundredths),
            int(rooms),
        )
    for (item_id, _owner), per_option in split.items():
        if item_id in aggregates:
            aggregates[item_id].split_owners.append(per_option)
    return aggregates


async def compute_results(
    session: AsyncSession, vote: Vote, *, with_texts: bool = False
) -> Results:
    """Results of the vote as they stand: one query for the electorate, one for the answers,
    one pass of the tally per motion."""
    items = await items_of(session, vote.id)
    settings = vote.tally_settings or rules.DEFAULT_COMMUNITY_SETTINGS
    electorate_rooms, ballots = await counts_of(session, vote)
    out: Results = {
        "vote_id": vote.id,
        "kind": vote.kind,
        "status": vote.status,
        "final": vote.status == "closed",
        "electorate_rooms": electorate_rooms,
        "ballots": ballots,
        "ballots_by_source": await ballots_by_source(session, vote.id),
        "settings": settings,
        "motions": [],
        "questions": [],
    }
    if vote.kind == "vote":
        chosen = tally_rules.TallyRules.from_settings(settings)
        aggregates = await aggregate_motions(
            session,
            vote.id,
            [i.id for i in items],
            split_details=tally_rules.needs_split_details(chosen),
        )
        out["motions"] = [
            motion_result(
                i.id,
                i.title,
                tally_rules.tally_aggregate(aggregates[i.id], i.matter or "ordinary", chosen),
            )
            for i in items
        ]
        return out
    counts: dict[tuple[str, str | None], int] = {}
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
            .where(
                BallotAnswer.vote_id == vote.id,
                BallotAnswer.standing.is_(True),
                BallotAnswer.text.is_not(None),
            )
            .order_by(BallotAnswer.id)
        )
        for item_id, text in text_rows.all():
            texts.setdefault(item_id, []).append(text or "")
    for i in items:
        q: QuestionResult = {
            "item_id": i.id,
            "title": i.title,
            "type": i.kind,
            "max_choices": i.max_choices,
        }
        if i.kind == "text":
            q["answers"] = len(texts.get(i.id, [])) if with_texts else None
            if with_texts:
                q["texts"] = texts.get(i.id, [])
        else:
            q["options"] = [
                {"id": o["id"], "label": o["label"], "count": counts.get((i.id, o["id"]), 0)}
                for o in i.options
            ]
        out["questions"].append(q)
    return out


async def results_for(session: AsyncSession, vote: Vote, viewer: Viewer) -> Results:
    """Owners: the published results after closing. Managers: live while open if the vote
    allows it; free-text answers of surveys only to managers."""
    if not rules.can_see_results(
        vote.status, manager=viewer.manager, live_results=vote.live_results
    ):
        raise errors.ResultsNotAvailable()
    with_texts = rules.can_see_free_text(vote.kind, manager=viewer.manager)
    if vote.status == "closed" and not with_texts:
        if vote.results:
            return cast(Results, dict(vote.results))
        return await compute_results(session, vote)
    return await compute_results(session, vote, with_texts=with_texts)
