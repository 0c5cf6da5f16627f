"""The collection rate (收缴率) of periods, for the community and by building: paid ÷ billed,
where billed leaves out waived bills and paid counts the bills settled now (a refunded bill
is owed again). One GROUP BY over the covering index."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing import rules
from services.billing.models import Bill
from services.billing.places import building_names
from services.billing.schemas import BuildingRate, CollectionOut, PeriodRate


async def collection_rate(session: AsyncSession, community_id: str, periods: Sequence[str]) -> CollectionOut:
    stmt = (
        select(
            Bill.period,
            Bill.building_id,
            func.sum(Bill.amount_fen),
            func.sum(case((Bill.status == "paid", Bill.amount_fen), else_=0)),
        )
        .where(Bill.community_id == community_id, Bill.status != "waived")
        .group_by(Bill.period, Bill.building_id)
    )
    if periods:
        stmt = stmt.where(Bill.period.in_(list(periods)))
    names = await building_names(session, community_id)
    by_period: dict[str, list[BuildingRate]] = {}
    for period, building_id, billed, paid in (await session.execute(stmt)).all():
        billed, paid = int(billed or 0), int(paid or 0)
        by_period.setdefault(period, []).append(
            BuildingRate(
                building_id=building_id,
                building_name=names.get(building_id, ""),
                billed_fen=billed,
                paid_fen=paid,
                rate=rules.collection_rate(paid, billed),
            )
        )
    out = []
    for period in sorted(by_period):
        buildings = sorted(by_period[period], key=lambda b: (b.building_name, b.building_id))
        billed = sum(b.billed_fen for b in buildings)
        paid = sum(b.paid_fen for b in buildings)
        out.append(
            PeriodRate(
                period=period,
                billed_fen=billed,
                paid_fen=paid,
                rate=rules.collection_rate(paid, billed),
                buildings=buildings,
            )
        )
    return CollectionOut(periods=out)
