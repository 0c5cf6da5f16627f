"""A community's ticket statistics for a period: counts by status and category, time to
accept and to resolve (median, p90), overdue share, satisfaction, reopen rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.common.db import dialect_name
from services.repairs import rules
from services.repairs.models import Ticket
from services.repairs.schemas import Percentiles, StatsOut


async def _percentiles(
    session: AsyncSession,
    column: InstrumentedAttribute[int | None],
    where: list[ColumnElement[bool]],
) -> Percentiles:
    """Nearest-rank median and p90 of a duration column, in SQL. PostgreSQL has
    `percentile_disc`; SQLite gets the same ranks from window functions (rank ceil(n·p) is
    (n·p + 99) // 100 in integer arithmetic)."""
    if dialect_name(session) == "postgresql":
        n, median, p90 = (
            await session.execute(
                select(
                    func.count(column),
                    func.percentile_disc(0.5).within_group(column),
                    func.percentile_disc(0.9).within_group(column),
                ).where(*where, column.is_not(None))
            )
        ).one()
        return Percentiles(count=int(n or 0), median_seconds=median, p90_seconds=p90)
    ranked = (
        select(
            column.label("v"),
            func.row_number().over(order_by=column).label("rn"),
            func.count().over().label("n"),
        )
        .where(*where, column.is_not(None))
        .subquery()
    )
    median_rank = (ranked.c.n * 50 + 99) // 100
    p90_rank = (ranked.c.n * 90 + 99) // 100
    stmt = select(
        func.max(ranked.c.n),
        func.max(ranked.c.v).filter(ranked.c.rn == median_rank),
        func.max(ranked.c.v).filter(ranked.c.rn == p90_rank),
    ).where(or_(ranked.c.rn == median_rank, ranked.c.rn == p90_rank))
    n, median, p90 = (await session.execute(stmt)).one()
    return Percentiles(count=int(n or 0), median_seconds=median, p90_seconds=p90)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def stats(
    session: AsyncSession,
    community_id: str,
    created_from: datetime | None,
    created_to: datetime | None,
) -> StatsOut:
    where: list[ColumnElement[bool]] = [Ticket.community_id == community_id]
    if created_from:
        where.append(Ticket.created_at >= created_from)
    if created_to:
        where.append(Ticket.created_at < created_to)
    # One pass for the totals and the counts by state; one per grouping or percentile.
    resolved_ever = or_(Ticket.resolve_seconds.is_not(None), Ticket.reopen_count > 0)
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Ticket.overdue.is_(True)),
                func.count(Ticket.rating),
                func.avg(Ticket.rating),
                func.count().filter(resolved_ever),
                func.count().filter(Ticket.reopen_count > 0),
                *(func.count().filter(Ticket.status == status) for status in rules.STATUSES),
            ).where(*where)
        )
    ).one()
    total, overdue, rated, rating_avg, resolved, reopened = row[:6]
    by_status: dict[str, Any] = dict(zip(rules.STATUSES, row[6:], strict=True))
    by_category = (
        await session.execute(
            select(Ticket.category, func.count()).where(*where).group_by(Ticket.category)
        )
    ).all()
    return StatsOut(
        community_id=community_id,
        from_=created_from,
        to=created_to,
        total=total,
        by_status={s: int(by_status.get(s, 0)) for s in rules.STATUSES},
        by_category={k: int(v) for k, v in sorted(by_category)},
        time_to_accept=await _percentiles(session, Ticket.accept_seconds, where),
        time_to_resolve=await _percentiles(session, Ticket.resolve_seconds, where),
        overdue_share=_share(overdue, total),
        satisfaction_average=round(float(rating_avg), 2) if rating_avg is not None else None,
        rated=rated,
        reopen_rate=_share(reopened, resolved),
    )
