"""Per crew member and per department, for the manager: tickets assigned and handled, time
to acknowledge / arrive / complete (median, p90), breaches per clock, ratings. Each figure is
one grouped query over the tickets created in the period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.common.db import dialect_name
from services.repairs.models import Ticket
from services.repairs.schemas import (
    CrewFigures,
    CrewMemberStats,
    CrewStatsOut,
    DepartmentStats,
    Percentiles,
)

_CLOCKS = {
    "acknowledge": Ticket.acknowledge_breached,
    "arrive": Ticket.arrive_breached,
    "resolve": Ticket.resolve_breached,
}


async def _grouped_percentiles(
    session: AsyncSession,
    group: InstrumentedAttribute[Any],
    column: InstrumentedAttribute[int | None],
    where: list[ColumnElement[bool]],
) -> dict[Any, Percentiles]:
    """Nearest-rank median and p90 of `column` per value of `group` (stats.py's method, per
    group: `percentile_disc` on PostgreSQL, window ranks partitioned by the group on SQLite)."""
    cond = [*where, column.is_not(None)]
    if dialect_name(session) == "postgresql":
        rows = (
            await session.execute(
                select(
                    group,
                    func.count(column),
                    func.percentile_disc(0.5).within_group(column),
                    func.percentile_disc(0.9).within_group(column),
                ).where(*cond).group_by(group)
            )
        ).all()
    else:
        ranked = (
            select(
                group.label("g"),
                column.label("v"),
                func.row_number().over(partition_by=group, order_by=column).label("rn"),
                func.count().over(partition_by=group).label("n"),
            )
            .where(*cond)
            .subquery()
        )
        median_rank = (ranked.c.n * 50 + 99) // 100
        p90_rank = (ranked.c.n * 90 + 99) // 100
        rows = (
            await session.execute(
                select(
                    ranked.c.g,
                    func.max(ranked.c.n),
                    func.max(ranked.c.v).filter(ranked.c.rn == median_rank),
                    func.max(ranked.c.v).filter(ranked.c.rn == p90_rank),
                )
                .where(or_(ranked.c.rn == median_rank, ranked.c.rn == p90_rank))
                .group_by(ranked.c.g)
            )
        ).all()
    return {
        g: Percentiles(count=int(n or 0), median_seconds=median, p90_seconds=p90)
        for g, n, median, p90 in rows
    }


_NONE = Percentiles(count=0, median_seconds=None, p90_seconds=None)


async def _figures(
    session: AsyncSession, group: InstrumentedAttribute[Any], where: list[ColumnElement[bool]]
) -> dict[Any, CrewFigures]:
    handled = or_(Ticket.resolve_seconds.is_not(None), Ticket.reopen_count > 0)
    rows = (
        await session.execute(
            select(
                group,
                func.count(),
                func.count().filter(handled),
                func.count(Ticket.rating),
                func.avg(Ticket.rating),
                *(func.count().filter(flag.is_(True)) for flag in _CLOCKS.values()),
            ).where(*where).group_by(group)
        )
    ).all()
    times = {
        name: await _grouped_percentiles(session, group, column, where)
        for name, column in (
            ("acknowledge", Ticket.accept_seconds),
            ("arrive", Ticket.arrive_seconds),
            ("complete", Ticket.resolve_seconds),
        )
    }
    return {
        g: CrewFigures(
            assigned=int(total),
            handled=int(done),
            time_to_acknowledge=times["acknowledge"].get(g, _NONE),
            time_to_arrive=times["arrive"].get(g, _NONE),
            time_to_complete=times["complete"].get(g, _NONE),
            breaches=dict(zip(_CLOCKS, (int(b) for b in breaches), strict=True)),
            rated=int(rated),
            rating_average=round(float(avg), 2) if avg is not None else None,
        )
        for g, total, done, rated, avg, *breaches in rows
    }


async def crew_stats(
    session: AsyncSession,
    community_id: str,
    created_from: datetime | None,
    created_to: datetime | None,
) -> CrewStatsOut:
    """Tickets created in the period with someone on them, grouped by that person (the last
    assignee) and by department."""
    where: list[ColumnElement[bool]] = [
        Ticket.community_id == community_id, Ticket.assignee_id.is_not(None)
    ]
    if created_from:
        where.append(Ticket.created_at >= created_from)
    if created_to:
        where.append(Ticket.created_at < created_to)
    people = await _figures(session, Ticket.assignee_id, where)
    departments = await _figures(session, Ticket.department, where)
    names: dict[str, tuple[str | None, str | None]] = {
        str(a): (n, d)
        for a, n, d in (
            await session.execute(
                select(Ticket.assignee_id, Ticket.assignee_name, Ticket.department)
                .where(*where)
                .distinct()
            )
        ).all()
    }
    return CrewStatsOut(
        community_id=community_id,
        from_=created_from,
        to=created_to,
        crew=[
            CrewMemberStats(
                account_id=a, name=names.get(a, (None, None))[0],
                department=names.get(a, (None, None))[1], **f.model_dump(),
            )
            for a, f in sorted(people.items())
        ],
        departments=[
            DepartmentStats(department=d, **f.model_dump())
            for d, f in sorted(departments.items())
            if d is not None
        ],
    )
