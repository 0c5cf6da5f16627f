"""Arrears (欠费): unpaid bills past due, summed by building and age (账龄), and listed oldest
first for the desk to follow up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import rules
from services.billing.models import Bill
from services.billing.places import building_names
from services.billing.schemas import ArrearsBuilding, ArrearsItem, ArrearsOut
from services.common.pagination import Keyset, keyset_page

OLDEST_FIRST = Keyset((Bill.due_at, Bill.id), ("datetime", "str"), descending=False)


async def arrears(
    session: AsyncSession,
    community_id: str,
    now: datetime,
    *,
    building_id: str | None,
    min_overdue_days: int,
    limit: int,
    cursor: str | None,
) -> ArrearsOut:
    where = [Bill.community_id == community_id, Bill.status == "unpaid", Bill.due_at <= now]
    if building_id:
        where.append(Bill.building_id == building_id)
    summary = (
        await session.execute(
            select(Bill.building_id, Bill.due_at, func.count(), func.sum(Bill.amount_fen))
            .where(*where)
            .group_by(Bill.building_id, Bill.due_at)
        )
    ).all()
    names = await building_names(session, community_id)
    buildings: dict[str, ArrearsBuilding] = {}
    for bid, due, count, amount in summary:
        days = rules.overdue_days(due, now)
        if days < min_overdue_days:
            continue
        b = buildings.setdefault(
            bid,
            ArrearsBuilding(
                building_id=bid,
                building_name=names.get(bid, ""),
                bills=0,
                amount_fen=0,
                by_age={label: 0 for label, _, _ in rules.AGE_BUCKETS},
            ),
        )
        b.bills += int(count)
        b.amount_fen += int(amount or 0)
        b.by_age[rules.age_bucket(days)] += int(amount or 0)
    if min_overdue_days:
        cutoff = rules.due_cutoff(now, min_overdue_days)
        where.append(Bill.due_at < cutoff)
    rows, next_cursor = await keyset_page(session, select(Bill).where(*where), OLDEST_FIRST, limit, cursor)
    return ArrearsOut(
        amount_fen=sum(b.amount_fen for b in buildings.values()),
        buildings=sorted(buildings.values(), key=lambda b: (b.building_name, b.building_id)),
        items=[
            ArrearsItem(
                bill_id=b.id,
                room_id=b.room_id,
                room_label=b.room_label,
                building_id=b.building_id,
                period=b.period,
                amount_fen=b.amount_fen,
                due_at=b.due_at,
                overdue_days=rules.overdue_days(b.due_at, now),
                last_reminded_at=b.last_reminded_at,
            )
            for b in rows
        ],
        next_cursor=next_cursor,
    )
