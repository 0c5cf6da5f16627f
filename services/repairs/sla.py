"""The scheduler's work: SLA clocks that ran out (each announced once), and tickets resolved
long enough ago that they close themselves."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import execute_dml
from services.repairs import rules
from services.repairs.models import Ticket
from services.repairs.settings import Settings
from services.repairs.transitions import Breach, StepInput, apply, emit_overdue

_CLOCK_COLUMNS = {
    "acknowledge": (Ticket.acknowledge_due_at, Ticket.acknowledge_breached, "acknowledge_breached"),
    "arrive": (Ticket.arrive_due_at, Ticket.arrive_breached, "arrive_breached"),
    "resolve": (Ticket.resolve_due_at, Ticket.resolve_breached, "resolve_breached"),
}


async def mark_breaches(session: AsyncSession, now: datetime, batch: int = 500) -> int:
    """Records each SLA clock that ran out and emits `repairs.ticket.overdue` once for it.

    The flag is set by a conditional UPDATE (`... AND <clock>_breached = false`), so two
    schedulers racing over the same ticket emit one event between them."""
    emitted = 0
    for clock, (due_col, flag_col, flag_name) in _CLOCK_COLUMNS.items():
        running = rules.CLOCK_RUNNING[clock]
        candidates = (
            await session.execute(
                select(
                    Ticket.id, Ticket.community_id, Ticket.reporter_id, Ticket.department,
                    Ticket.assignee_id, Ticket.reopen_count, due_col,
                )
                .where(Ticket.status.in_(running), flag_col.is_(False), due_col <= now)
                .limit(batch)
            )
        ).all()
        for ticket_id, community_id, reporter_id, department, assignee, rounds, due in candidates:
            marked = await execute_dml(
                session,
                update(Ticket)
                .where(Ticket.id == ticket_id, flag_col.is_(False), Ticket.status.in_(running))
                # A version bump, so a transition that loaded the ticket before this and
                # would record the same breach again loses with 409 instead.
                .values({flag_name: True, "overdue": True, "version": Ticket.version + 1})
                .execution_options(synchronize_session=False),
            )
            if marked != 1:
                continue
            emit_overdue(
                session,
                Breach(community_id, ticket_id, reporter_id, department, assignee, rounds, clock, due),
            )
            emitted += 1
    await session.flush()
    return emitted


async def due_for_auto_close(
    session: AsyncSession, settings: Settings, now: datetime, batch: int = 200
) -> list[str]:
    cutoff = now - timedelta(days=settings.auto_close_days)
    stmt = (
        select(Ticket.id)
        .where(Ticket.status == "resolved", Ticket.resolved_at <= cutoff)
        .limit(batch)
    )
    return list((await session.scalars(stmt)).all())


_AUTO_CLOSE = StepInput(note="确认超时，系统自动关闭")


async def auto_close(
    session: AsyncSession, settings: Settings, ticket_id: str, now: datetime
) -> bool:
    """Closes one ticket resolved more than 7 days ago (the system's own transition)."""
    ticket = await session.get(Ticket, ticket_id)
    cutoff = now - timedelta(days=settings.auto_close_days)
    if (
        ticket is None
        or ticket.status != "resolved"
        or ticket.resolved_at is None
        or ticket.resolved_at > cutoff
    ):
        return False
    await apply(
        session, settings, None, ticket, frozenset({"system"}), _AUTO_CLOSE, "auto_close", now
    )
    return True
