"""What a vote publishes for the record: each room's choice (never a name) and, for the
managers, every ballot ever cast as CSV."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.csv_export import Row
from services.common.identity_replica import queries as replica
from services.common.identity_replica.models import ReplicaStaff
from services.common.pagination import Keyset, keyset_page
from services.votes import errors, rules, tally_rules
from services.votes.access import Viewer, items_of
from services.votes.models import Ballot, BallotAnswer, Elector, Vote
from services.votes.tally import results_for

# Rooms by label, then id; the cursor is [label, room_id].
ROOM_ORDER = Keyset((Elector.label, Elector.room_id), ("str", "str"), descending=False)


class RoomResult(TypedDict):
    """A room in the published results (`schemas.RoomResult`)."""

    room_id: str
    label: str
    area: str
    voted: bool
    # online | paper | proxy (None: not voted).
    source: str | None
    answers: dict[str, str]


async def room_results(
    session: AsyncSession, vote: Vote, viewer: Viewer, limit: int, cursor: str | None
) -> tuple[list[RoomResult], str | None]:
    """The published per-room record: label, area and, for a vote, each motion's choice —
    never a name."""
    if not rules.can_publish_room_results(vote.kind):
        raise errors.NoRoomResults()
    await results_for(session, vote, viewer)  # same visibility as the results
    stmt = select(Elector.room_id, Elector.label, Elector.area_hundredths).where(
        Elector.vote_id == vote.id
    )
    page, next_cursor = await keyset_page(
        session, stmt, ROOM_ORDER, limit, cursor, key=lambda r: [r.label, r.room_id]
    )
    room_ids = [r.room_id for r in page]
    answers: dict[str, dict[str, str]] = {}
    voted: dict[str, str] = {}
    if room_ids:
        ballots = await session.execute(
            select(Ballot.room_id, Ballot.source, BallotAnswer.item_id, BallotAnswer.option_id)
            .outerjoin(BallotAnswer, BallotAnswer.ballot_id == Ballot.id)
            .where(Ballot.vote_id == vote.id, Ballot.active_room_id.in_(room_ids))
        )
        for room_id, source, item_id, option_id in ballots.all():
            voted[room_id] = source
            if item_id is not None and option_id is not None:
                answers.setdefault(room_id, {})[item_id] = option_id
    return [
        {
            "room_id": r.room_id,
            "label": r.label,
            "area": tally_rules.area_str(Decimal(r.area_hundredths).scaleb(-2)),
            "voted": r.room_id in voted,
            "source": voted.get(r.room_id),
            "answers": answers.get(r.room_id, {}),
        }
        for r in page
    ], next_cursor


async def _staff_names(
    session: AsyncSession, community_id: str, account_ids: set[str]
) -> dict[str, str]:
    """Who entered paper ballots, by the staff name identity published (kept after they left)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(ReplicaStaff.account_id, ReplicaStaff.name).where(
            ReplicaStaff.community_id == community_id,
            ReplicaStaff.account_id.in_(list(account_ids)),
        )
    )
    return {a: n for a, n in rows.all() if n}


async def ballots_csv(session: AsyncSession, vote: Vote) -> tuple[list[str], list[Row]]:
    """Every ballot ever cast (standing and replaced) with who and when, for the record: the
    header and the rows, which services.common.csv_export writes (a name or an answer that
    starts like a formula comes out as plain text). Anonymous surveys list only the rooms
    that answered."""
    items = await items_of(session, vote.id)
    labels = {(i.id, o["id"]): o["label"] for i in items for o in i.options}
    elector_rows = await session.execute(
        select(Elector.room_id, Elector.label, Elector.area_hundredths).where(
            Elector.vote_id == vote.id
        )
    )
    electors = {r: (label, h) for r, label, h in elector_rows.all()}
    ballots = list(
        (
            await session.scalars(
                select(Ballot).where(Ballot.vote_id == vote.id).order_by(Ballot.cast_at, Ballot.id)
            )
        ).all()
    )
    per_ballot: dict[str | None, dict[str, list[str]]] = {}
    if not vote.anonymous:
        rows = await session.execute(
            select(
                BallotAnswer.ballot_id,
                BallotAnswer.item_id,
                BallotAnswer.option_id,
                BallotAnswer.text,
            )
            .where(BallotAnswer.vote_id == vote.id)
            .order_by(BallotAnswer.id)
        )
        for ballot_id, item_id, option_id, text in rows.all():
            value = labels.get((item_id, option_id), option_id) if option_id is not None else text
            per_ballot.setdefault(ballot_id, {}).setdefault(item_id, []).append(value or "")
    names = await replica.display_names(
        session, vote.community_id, [b.cast_by for b in ballots if b.cast_by]
    )
    staff_names = await _staff_names(
        session, vote.community_id, {b.entered_by for b in ballots if b.entered_by}
    )
    head = ["房屋", "面积(㎡)", "状态", "投票时间"]
    if not vote.anonymous:
        head += ["选票编号", "投票人账号", "投票人", "被替换时间"] + [i.title for i in items]
    # How each ballot came (online, or paper/proxy entered by staff, with its record).
    head += ["方式"] if vote.anonymous else ["方式", "签名人", "录入人", "纸质选票照片"]
    out: list[Row] = []
    for b in ballots:
        label, hundredths = electors.get(b.room_id, (b.room_id, 0))
        row = [
            label,
            tally_rules.area_str(Decimal(hundredths).scaleb(-2)),
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
        row.append(rules.BALLOT_SOURCE_LABELS.get(b.source, b.source))
        if not vote.anonymous:
            row += [
                b.signer or "",
                staff_names.get(b.entered_by, b.entered_by) if b.entered_by else "",
                b.photo_id or "",
            ]
        out.append(row)
    return head, out
